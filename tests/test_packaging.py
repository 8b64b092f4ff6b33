"""Packaging, checked on what is built: the wheel and the sdist (``python -m build``, no
warnings), their contents, and the declared requirements against the code's real imports.

The requirement checks read the built wheel's metadata and follow each requirement through the
installed distributions, so "``pip install -e .`` satisfies every import" is checked the way a
fresh virtualenv would see it, not by reading setup.cfg text.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import flask_passport

ROOT = Path(__file__).resolve().parent.parent
#: Extras that only the app's deployment picks (optional features), next to the core.
FEATURE_EXTRAS = ("postgres", "redis")
#: Modules only for users of an extra: they import it at module level (nothing else in the
#: package imports them), so they are checked against the core and that extra.
EXTRA_ONLY_MODULES = {"flask_passport/integrations/mcp.py": "mcp"}

#: Requirements used without an ``import`` of theirs, each with the place that uses it (checked
#: below, so an entry cannot outlive its use).
USED_WITHOUT_IMPORT = {
    "psycopg": [(".ci/run", "postgresql+psycopg")],  # SQLAlchemy's dialect loads it
    "gunicorn": [("docs/samples/deploy_sample.py", '"-m", "gunicorn"')],
    "furo": [("docs/conf.py", 'html_theme = "furo"')],
    "sphinx": [("tests/test_docs.py", '"-m", "sphinx"')],
    "build": [("tests/test_packaging.py", '"-m", "build"')],
    "setuptools": [("pyproject.toml", "setuptools.build_meta")],  # the backend `build` runs
    "ruff": [(".ci/run", "ruff check")],
    "mypy": [(".ci/run", "mypy flask_passport")],
}


@dataclass
class Built:
    wheel: Path
    sdist: Path
    output: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """``python -m build`` on a copy of the working tree: the sdist, then the wheel built from
    that sdist (so the sdist is proven complete enough to build)."""
    tmp = tmp_path_factory.mktemp("build")
    source = tmp / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "node_modules", "__pycache__", "*.egg-info", "build", "dist", "instance",
        "_build", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.sqlite"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp / "dist"),
         str(source)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    (wheel,) = (tmp / "dist").glob("*.whl")
    (sdist,) = (tmp / "dist").glob("*.tar.gz")
    return Built(wheel, sdist, output)


def _wheel_files(built: Built) -> list[str]:
    with zipfile.ZipFile(built.wheel) as wheel:
        return wheel.namelist()


def _wheel_text(built: Built, suffix: str) -> str:
    with zipfile.ZipFile(built.wheel) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(suffix)]
        return wheel.read(name).decode()


def test_build_gives_no_warnings(built: Built) -> None:
    warnings = [line for line in built.output.splitlines()
                if re.search(r"warn|deprecat", line, re.I)]
    assert not warnings, "\n".join(warnings)


def test_wheel_holds_the_whole_package_and_nothing_else(built: Built) -> None:
    files = _wheel_files(built)
    package = ROOT / "flask_passport"
    expected = {p.relative_to(ROOT).as_posix() for p in package.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    shipped = {f for f in files if f.startswith("flask_passport/")}
    assert shipped == expected
    for needed in ("flask_passport/py.typed", "flask_passport/pytest_plugin.py",
                   "flask_passport/templates/passport/authorize.html",
                   "flask_passport/migrations/versions/a1f0c0de0001_create_passport_tables.py"):
        assert needed in shipped, needed
    others = {f.split("/")[0] for f in files if not f.startswith("flask_passport/")}
    assert others == {f"flask_passport-{flask_passport.__version__}.dist-info"}, others
    assert any(f.endswith(".dist-info/licenses/LICENSE") for f in files)


def test_wheel_metadata(built: Built) -> None:
    meta = Parser().parsestr(_wheel_text(built, ".dist-info/METADATA"))
    assert meta["Name"] == "flask-passport"
    assert meta["Version"] == flask_passport.__version__
    assert meta["Requires-Python"] == ">=3.11"
    assert "MIT" in (meta["License-Expression"] or meta["License"] or "")
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    entry_points = _wheel_text(built, ".dist-info/entry_points.txt")
    assert re.search(r"\[pytest11\]\s+flask_passport = flask_passport\.pytest_plugin",
                     entry_points), entry_points


def test_sdist_holds_the_package_license_and_no_test_files(built: Built) -> None:
    with tarfile.open(built.sdist) as sdist:
        names = [n.split("/", 1)[1] for n in sdist.getnames() if "/" in n]
    assert "LICENSE" in names and "README.md" in names and "pyproject.toml" in names
    assert "flask_passport/py.typed" in names
    # Without conftest.py, helpers, samples and the example app the tests cannot run, so the
    # sdist ships none (MANIFEST.in); the suite runs from a clone.
    assert not [n for n in names if n.startswith("tests/")]


# -- requirements against imports ---------------------------------------------------------------


def _requirements(built: Built) -> dict[str | None, list[Requirement]]:
    """The wheel's ``Requires-Dist``, by extra (``None``: the core)."""
    meta = Parser().parsestr(_wheel_text(built, ".dist-info/METADATA"))
    by_extra: dict[str | None, list[Requirement]] = {}
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        extra = None
        if req.marker is not None:
            found = re.search(r'extra == "([^"]+)"', str(req.marker))
            extra = found.group(1) if found else None
        by_extra.setdefault(extra, []).append(req)
    return by_extra


def _closure(requirements: Iterable[Requirement]) -> set[str]:
    """Every distribution ``requirements`` install, followed through the installed metadata."""
    seen: set[str] = set()
    todo = [(r.name, frozenset(r.extras)) for r in requirements]
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if key in seen and not extras:
            continue
        seen.add(key)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue  # reported by the caller as a missing distribution
        for line in requires:
            req = Requirement(line)
            environments = [{"extra": e} for e in ("", *extras)]
            if req.marker is None or any(req.marker.evaluate(env) for env in environments):
                todo.append((req.name, frozenset(req.extras)))
    return seen


def _local_names() -> set[str]:
    """Modules of this repository (imported by path), not distributions."""
    names = {"flask_passport", "example_app", "tests", "bench", "docs", "scripts", "conftest"}
    for folder in ("tests", "tests/fuzz", "tests/reliability", "tests/plugin_user_suite",
                   "docs/samples", "docs/_ext", "bench"):
        names |= {p.stem for p in (ROOT / folder).glob("*.py")}
    return names


def _imports(paths: Iterable[Path], *, top_level_only: bool) -> dict[str, str]:
    """Third-party top-level module names imported by ``paths`` -> one file importing it.
    ``top_level_only``: only imports at module level (not inside functions)."""
    found: dict[str, str] = {}
    local = _local_names()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes: Iterable[ast.AST] = tree.body if top_level_only else ast.walk(tree)
        for node in nodes:
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _unmet(imports: dict[str, str], installed: set[str]) -> list[str]:
    provides = md.packages_distributions()
    unmet = []
    for module, where in sorted(imports.items()):
        dists = {canonicalize_name(d) for d in provides.get(module, [])}
        if not dists & installed:
            unmet.append(f"{module} (imported by {where}; from {sorted(dists) or '?'})")
    return unmet


def _files(*patterns: str) -> list[Path]:
    return [p for pattern in patterns for p in ROOT.glob(pattern)
            if "node_modules" not in p.parts]


def test_pip_install_dot_satisfies_the_package(built: Built) -> None:
    """Module-level imports of the package need the core requirements only; lazy imports of
    optional features (Redis, rate limits, PostgreSQL) need their extra. The pytest plugin runs
    only inside pytest."""
    reqs = _requirements(built)
    package = [p for p in _files("flask_passport/**/*.py") if p.name != "pytest_plugin.py"
               and p.relative_to(ROOT).as_posix() not in EXTRA_ONLY_MODULES]
    assert not _unmet(_imports(package, top_level_only=True), _closure(reqs[None]))
    features = [r for extra in FEATURE_EXTRAS for r in reqs[extra]]
    assert not _unmet(_imports(package, top_level_only=False),
                      _closure([*reqs[None], *features]))
    for path, extra in EXTRA_ONLY_MODULES.items():
        unmet = _unmet(_imports([ROOT / path], top_level_only=False),
                       _closure([*reqs[None], *reqs[extra]]))
        assert not unmet, (path, unmet)


def test_extra_only_modules_are_imported_by_nothing_else() -> None:
    """``import flask_passport`` (and every core module) must work without the extras."""
    modules = {path.removesuffix(".py").replace("/", ".") for path in EXTRA_ONLY_MODULES}
    for path in _files("flask_passport/**/*.py"):
        if path.relative_to(ROOT).as_posix() in EXTRA_ONLY_MODULES:
            continue
        package = path.relative_to(ROOT).with_suffix("").parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = list(package[:len(package) - node.level + 1] if node.level else [])
                module = ".".join([*base, *([node.module] if node.module else [])])
                names = [module, *(f"{module}.{a.name}" for a in node.names)]
            assert not set(names) & modules, (path, names)


def test_the_readme_install_satisfies_the_example_app(built: Built) -> None:
    """The README's "Try it" installs ``.[example]``: enough for every example-app import."""
    assert 'pip install -e ".[example]"' in (ROOT / "README.md").read_text()
    reqs = _requirements(built)
    unmet = _unmet(_imports(_files("example_app/**/*.py"), top_level_only=False),
                   _closure([*reqs[None], *reqs["example"]]))
    assert not unmet, unmet


def test_the_test_extra_satisfies_every_test_import(built: Built) -> None:
    """Everything the tests (and the samples they run) import or start, and the tools CI runs
    with them, comes with ``.[test]``."""
    reqs = _requirements(built)
    installed = _closure([*reqs[None], *reqs["test"]])
    code = _files("tests/**/*.py", "docs/samples/*.py", "docs/_ext/*.py", "docs/conf.py",
                  "scripts/*.py")
    unmet = _unmet(_imports(code, top_level_only=False), installed)
    assert not unmet, unmet
    assert not set(USED_WITHOUT_IMPORT) - installed, set(USED_WITHOUT_IMPORT) - installed


def test_the_docs_extra_builds_the_docs(built: Built) -> None:
    reqs = _requirements(built)
    unmet = _unmet(_imports(_files("docs/conf.py", "docs/_ext/*.py"), top_level_only=False),
                   _closure([*reqs[None], *reqs["docs"]]))
    assert not unmet, unmet
    assert {"sphinx", "furo"} <= {canonicalize_name(r.name) for r in reqs["docs"]}


def test_extras_install_nothing_the_code_never_uses(built: Built) -> None:
    """Each requirement of an extra is imported by some code, or used as listed in
    ``USED_WITHOUT_IMPORT`` (and that use is still there)."""
    provides = md.packages_distributions()
    code = _files("flask_passport/**/*.py", "example_app/**/*.py", "tests/**/*.py",
                  "docs/samples/*.py", "docs/_ext/*.py", "docs/conf.py", "scripts/*.py")
    imported = {canonicalize_name(d) for module in _imports(code, top_level_only=False)
                for d in provides.get(module, [])}
    for name, uses in USED_WITHOUT_IMPORT.items():
        for path, text in uses:
            assert text in (ROOT / path).read_text(encoding="utf-8"), (name, path, text)
    unused = [f"{extra}: {req.name}" for extra, reqs in _requirements(built).items()
              if extra is not None for req in reqs
              if canonicalize_name(req.name) not in imported
              and canonicalize_name(req.name) not in USED_WITHOUT_IMPORT]
    assert not unused, unused


def test_public_api() -> None:
    for name in ("Passport", "require_oauth", "scopes", "scope", "client", "current_token",
                 "HasApiTokens", "signals", "KeyLoadError"):
        assert hasattr(flask_passport, name), name
