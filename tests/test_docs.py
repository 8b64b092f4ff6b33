"""The documentation: every sample file runs, every setting/signal/method/command is documented,
and the Sphinx build passes with warnings as errors (when Sphinx is installed)."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

import flask_passport
from flask_passport import Passport, signals
from flask_passport.cli import passport_cli
from flask_passport.settings import DEFAULTS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Modules the samples import or start (the shared app, helpers, the WSGI entry point, the
#: tutorial's partner script and web app), not samples to run on their own.
SUPPORT = {"helpers.py", "myapp.py", "partner.py", "partner_web.py", "wsgi.py"}
SAMPLES = sorted(p for p in (DOCS / "samples").glob("*.py") if p.name not in SUPPORT)
HAVE_SPHINX = all(importlib.util.find_spec(m) is not None for m in ("sphinx", "furo"))
HAVE_DOT = shutil.which("dot") is not None
#: Flask-Migrate's generated env.py (third-party template code) calls a deprecated
#: Flask-SQLAlchemy method; every other warning fails the sample.
IGNORED = "ignore:'get_engine' is deprecated:DeprecationWarning"


def _page(name: str) -> str:
    return (DOCS / f"{name}.rst").read_text(encoding="utf-8")


#: How many samples run at once. Starting all of them together on a small, busy machine made
#: the servers some samples start miss their own timeouts; a few at a time is as fast.
PARALLEL = max(2, min(4, os.cpu_count() or 2))
#: Started first, so that the cap does not leave the longest runs for last.
SLOW_FIRST = ["tutorial_sample", "sphinx", "deploy_sample", "plugin_sample"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[tuple[int, str]]]]:
    """Run every sample (and the Sphinx build) once for the module, ``PARALLEL`` at a time,
    each in its own process and folder; each test waits for its own result."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(DOCS / "samples")])}
    env.pop("PASSPORT_PRIVATE_KEY", None)
    env.pop("PASSPORT_PUBLIC_KEY", None)
    commands: dict[str, tuple[list[str], Path, dict[str, str] | None]] = {}
    for sample in SAMPLES:
        commands[sample.stem] = ([sys.executable, "-W", "error", "-W", IGNORED, str(sample)],
                                 tmp_path_factory.mktemp(sample.stem), env)
    out_dir = None
    if HAVE_SPHINX and HAVE_DOT:
        out = tmp_path_factory.mktemp("docs")
        out_dir = out / "html"
        commands["sphinx"] = ([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                               "html", "-d", str(out / "doctrees"), str(DOCS), str(out_dir)],
                              ROOT, None)
    started: list[subprocess.Popen[str]] = []
    stopping = threading.Event()

    def run(command: list[str], cwd: Path, run_env: dict[str, str] | None) -> tuple[int, str]:
        if stopping.is_set():
            return -1, "not run: the module was torn down"
        proc = subprocess.Popen(command, cwd=cwd, env=run_env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append(proc)
        try:
            out, err = proc.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return -1, f"timed out after 600 s\n{out}{err}"
        return proc.returncode, out + err

    order = sorted(commands, key=lambda n: SLOW_FIRST.index(n) if n in SLOW_FIRST else 99)
    pool = ThreadPoolExecutor(max_workers=PARALLEL)
    futures = {name: pool.submit(run, *commands[name]) for name in order}
    if out_dir is not None:
        futures["sphinx"].out_dir = out_dir  # type: ignore[attr-defined]
    try:
        yield futures
    finally:
        stopping.set()
        for proc in started:
            if proc.poll() is None:
                proc.kill()
        pool.shutdown(wait=True, cancel_futures=True)


def _finish(future: Future[tuple[int, str]]) -> tuple[int, str]:
    return future.result(timeout=1800)


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_runs(sample: Path, runs: dict[str, Future[tuple[int, str]]]) -> None:
    """Each sample is real code: run as a script against a temporary SQLite database."""
    code, output = _finish(runs[sample.stem])
    assert code == 0, output
    assert output.strip().endswith("OK"), output


def test_samples_are_included_in_pages() -> None:
    """A sample no page shows is dead weight; a page pointing at a missing sample breaks."""
    pages = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.rst"))
    for sample in [*SAMPLES, DOCS / "samples" / "myapp.py", DOCS / "samples" / "curl_tokens.sh"]:
        assert f"samples/{sample.name}" in pages, f"{sample.name} is not shown on any page"
    for included in re.findall(r"literalinclude:: (samples/\S+)", pages):
        assert (DOCS / included).exists(), included


def _load_ext() -> object:
    path = DOCS / "_ext" / "passport_docs.py"
    spec = importlib.util.spec_from_file_location("passport_docs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_grant_diagram_parses_and_is_shown() -> None:
    if not HAVE_SPHINX:
        pytest.skip("Sphinx is not installed (pip install -e '.[docs]')")
    ext = _load_ext()
    pages = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.rst"))
    diagrams = sorted((DOCS / "diagrams").glob("*.seq"))
    assert {d.stem for d in diagrams} >= {"authorization-code", "pkce", "implicit", "password",
                                           "client-credentials", "refresh", "personal-access",
                                           "device"}
    for diagram in diagrams:
        dot = ext.sequence_dot(diagram.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
        assert dot.startswith("digraph") and "1. " in dot
        assert f"passport-sequence:: diagrams/{diagram.name}" in pages, diagram.name
    with pytest.raises(ValueError, match="unknown actor"):
        ext.sequence_dot("actors: a=A\na -> b: hello")  # type: ignore[attr-defined]


def test_every_setting_is_described() -> None:
    if not HAVE_SPHINX:
        pytest.skip("Sphinx is not installed (pip install -e '.[docs]')")
    ext = _load_ext()
    assert set(ext.DESCRIPTIONS) == set(DEFAULTS)  # type: ignore[attr-defined]
    table = "\n".join(ext.settings_rst())  # type: ignore[attr-defined]
    for key in DEFAULTS:
        assert f"``{key}``" in table


def test_every_config_key_the_code_reads_is_documented() -> None:
    """A ``PASSPORT_*`` key read anywhere in the package is in DEFAULTS (hence the generated
    table) or named on the configuration page."""
    page = _page("configuration")
    keys = set()
    for path in (ROOT / "flask_passport").rglob("*.py"):
        # A name followed by ``_`` or ``*`` is a prefix (``PASSPORT_RATELIMIT_*``), not a key.
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"PASSPORT_[A-Z_]*[A-Z](?![A-Z_*])", text))
    assert "PASSPORT_ISSUER" in keys
    missing = sorted(k for k in keys if k not in DEFAULTS and f"``{k}``" not in page)
    assert not missing, f"undocumented config keys: {missing}"


def test_installation_names_every_passport_table() -> None:
    """The installation page counts and names the tables ``init_app`` creates."""
    from flask_sqlalchemy import SQLAlchemy

    from flask_passport.storage.models import build_models

    db = SQLAlchemy()
    build_models(db)
    tables = sorted(db.metadata.tables)
    assert "oauth_clients" in tables
    page = _page("installation")
    words = {4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
    assert f"Passport's {words[len(tables)]} tables are" in page
    for table in tables:
        assert f"``{table}``" in page, table


def test_upgrading_page_lists_every_passport_revision() -> None:
    page = _page("upgrading")
    versions = ROOT / "flask_passport" / "migrations" / "versions"
    for revision in versions.glob("*.py"):
        assert f"``{revision.name.split('_')[0]}``" in page, revision.name


def test_configuration_page_lists_every_passport_method() -> None:
    page = _page("configuration")
    public = [name for name, _ in inspect.getmembers(Passport) if not name.startswith("_")]
    assert "tokens_can" in public
    missing = [name for name in public if f"{name}" not in page]
    assert not missing, f"docs/configuration.rst does not mention: {missing}"


def test_events_page_lists_every_signal_with_its_arguments() -> None:
    page = _page("events")
    for name in signals.__all__:
        assert f"``{name}``" in page, name
    # The arguments as the code sends them (see flask_passport/oauth2/*.py).
    for argument in ("token", "client", "user_id", "grant_type", "refresh_token_id",
                     "access_token_id", "client_id", "token_id", "reason", "family_id"):
        assert f"``{argument}``" in page, argument


def test_cli_page_covers_every_command_and_option() -> None:
    if not HAVE_SPHINX:
        pytest.skip("Sphinx is not installed (pip install -e '.[docs]')")
    text = "\n".join(_load_ext().cli_rst(passport_cli))  # type: ignore[attr-defined]
    for name, command in passport_cli.commands.items():
        assert f"flask passport {name}" in text
        for param in command.params:
            for opt in getattr(param, "opts", []):
                assert f"``{opt}``" in text, (name, opt)
    assert ".. passport-cli::" in _page("cli")


@pytest.mark.skipif(not HAVE_SPHINX, reason="Sphinx and Furo are not installed "
                    "(pip install -e '.[docs]')")
@pytest.mark.skipif(not HAVE_DOT, reason="graphviz's dot is not installed "
                    "(apt-get install -y graphviz)")
def test_docs_build_without_warnings(runs: dict[str, Future[tuple[int, str]]]) -> None:
    """``sphinx-build -W --keep-going``: any warning (a broken reference, a missing sample
    marker, an undocumented setting) fails the build."""
    build = runs["sphinx"]
    code, output = _finish(build)
    assert code == 0, output
    out: Path = build.out_dir  # type: ignore[attr-defined]
    cli = (out / "cli.html").read_text(encoding="utf-8")
    for name in passport_cli.commands:
        assert f'id="flask-passport-{name}"' in cli, name
    api = (out / "api.html").read_text(encoding="utf-8")
    public = [name for name, _ in inspect.getmembers(Passport) if not name.startswith("_")]
    assert "tokens_can" in public
    for name in public:  # every public member is rendered on the API page
        assert f'id="flask_passport.Passport.{name}"' in api, name
    for name in flask_passport.__all__:  # and every export (a module's anchor is module-...)
        anchors = (f'id="flask_passport.{name}"', f'id="module-flask_passport.{name}"')
        assert any(anchor in api for anchor in anchors), name
    # Every grant diagram was rendered by graphviz.
    assert len(list((out / "_images").glob("graphviz-*.svg"))) >= 8
