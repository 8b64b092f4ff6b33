"""Packaging: metadata, the typed marker and the migrations ship with the package.

(A full ``pip wheel .`` build was checked by hand: it needs the index for its build
requirements, so it is not part of the offline test run.)
"""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path

import flask_passport

ROOT = Path(__file__).resolve().parent.parent


def _setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def test_py_typed_marker_exists_and_ships() -> None:
    assert (Path(flask_passport.__file__).parent / "py.typed").exists()
    package_data = _setup_cfg()["options.package_data"]["flask_passport"].split()
    assert "py.typed" in package_data
    assert "migrations/versions/*.py" in package_data


def test_runtime_and_test_requirements() -> None:
    cfg = _setup_cfg()
    requires = cfg["options"]["install_requires"]
    for name in ("Flask", "Flask-SQLAlchemy", "Flask-Migrate", "Flask-Login", "PyJWT",
                 "cryptography"):
        assert name in requires, name
    extras = cfg["options.extras_require"]
    assert "pytest" in extras["test"] and "psycopg" in extras["test"]
    assert cfg["options"]["python_requires"] == ">=3.11"


def test_version_is_read_from_the_package() -> None:
    assert _setup_cfg()["metadata"]["version"] == "attr: flask_passport.__version__"
    assert flask_passport.__version__


def test_pyproject_and_shim() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["build-system"]["build-backend"] == "setuptools.build_meta"
    assert pyproject["tool"]["pytest"]["ini_options"]["filterwarnings"] == ["error"]
    assert "setup()" in (ROOT / "setup.py").read_text()
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    assert tox["testenv"]["extras"] == "test"
    assert "PASSPORT_TEST_DATABASE_URL" in tox["testenv:postgres"]["setenv"]


def test_tests_are_not_packaged() -> None:
    exclude = _setup_cfg()["options.packages.find"]["exclude"].split()
    assert "tests" in exclude and "example_app" in exclude


def test_public_api() -> None:
    for name in ("Passport", "require_oauth", "scopes", "scope", "client", "current_token",
                 "HasApiTokens", "signals", "KeyLoadError"):
        assert hasattr(flask_passport, name), name
