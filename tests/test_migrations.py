"""Passport's Alembic branch runs with the app's own ``flask db upgrade`` (Flask-Migrate).

Each test builds a throwaway app in a temp folder and runs the real ``flask`` command in a
subprocess, the way a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PG_URL

import flask_passport

REPO = Path(__file__).resolve().parent.parent
PACKAGE_VERSIONS = Path(flask_passport.__file__).parent / "migrations" / "versions"
OAUTH_TABLES = {"oauth_clients", "oauth_access_tokens", "oauth_refresh_tokens",
                "oauth_auth_codes", "oauth_pending_authorizations"}

APP_SOURCE = '''
import os

import sqlalchemy as sa
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_passport import Passport


class Base(DeclarativeBase):
    pass


if os.environ.get("FAKE_VERSIONS"):
    # Stands in for a newer flask-passport release with one more revision.
    import flask_passport.migrations
    flask_passport.migrations.VERSIONS_DIR = os.environ["FAKE_VERSIONS"]

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
passport = Passport()

if os.environ.get("WITH_WIDGETS"):
    class Widget(db.Model):
        __tablename__ = "widgets"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(50))

if os.environ.get("WITH_GADGETS"):
    class Gadget(db.Model):
        __tablename__ = "gadgets"
        id: Mapped[int] = mapped_column(primary_key=True)


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("PG_SCHEMA"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"options": "-csearch_path=" + os.environ["PG_SCHEMA"]}}
    if os.environ.get("OPT_OUT"):
        app.config["PASSPORT_MIGRATIONS"] = False
    db.init_app(app)
    if os.environ.get("PASSPORT_FIRST"):
        passport.init_app(app, db=db)
        migrate.init_app(app, db)
    else:
        migrate.init_app(app, db)
        passport.init_app(app, db=db)
    return app
'''


@pytest.fixture
def database(backend: str, tmp_path: Path, pg_schema: str | None) -> Iterator[dict[str, str]]:
    """An empty database for one throwaway app (its own PostgreSQL schema)."""
    if backend == "sqlite":
        yield {"DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}"}
        return
    assert PG_URL is not None
    schema = f"{pg_schema}_mig"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield {"DATABASE_URL": PG_URL, "PG_SCHEMA": schema}
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _engine(database: dict[str, str]) -> sa.Engine:
    args: dict[str, Any] = {}
    if "PG_SCHEMA" in database:
        args["connect_args"] = {"options": f"-csearch_path={database['PG_SCHEMA']}"}
    return sa.create_engine(database["DATABASE_URL"], **args)


def _tables(database: dict[str, str]) -> set[str]:
    engine = _engine(database)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


class AppDir:
    """A temp project: ``<root>/<package>`` holds the app, commands run from ``root``."""

    def __init__(self, root: Path, package: str | None, database: dict[str, str]) -> None:
        self.root = root
        self.database = database
        if package:
            (root / package).mkdir(parents=True)
            (root / package / "__init__.py").write_text(APP_SOURCE)
            self.app_ref = package
        else:
            root.mkdir(parents=True, exist_ok=True)
            (root / "myapp.py").write_text(APP_SOURCE)
            self.app_ref = "myapp"

    def flask(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("PASSPORT_")}
        environ.update(self.database)
        environ.update(env)
        environ["PYTHONPATH"] = os.pathsep.join([str(REPO), str(self.root)])
        environ["PYTHONWARNINGS"] = "ignore"
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", self.app_ref, *args],
            cwd=self.root, env=environ, capture_output=True, text=True, timeout=120,
            check=False,
        )
        return result


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


def _package_versions() -> set[str]:
    return {p.name for p in PACKAGE_VERSIONS.glob("*.py")}


@pytest.mark.parametrize("package", [None, "app"], ids=["module", "package"])
def test_upgrade_creates_tables_and_app_revisions_stay_in_app(
    tmp_path: Path, database: dict[str, str], package: str | None
) -> None:
    before = _package_versions()
    project = AppDir(tmp_path / "project", package, database)
    _ok(project.flask("db", "init"))
    _ok(project.flask("db", "upgrade"))
    assert _tables(database) >= OAUTH_TABLES
    heads = project.flask("db", "heads")
    _ok(heads)
    assert "passport" in heads.stdout

    # The app's own autogenerated revision goes into the app's migrations folder ...
    _ok(project.flask("db", "migrate", "-m", "widgets", WITH_WIDGETS="1"))
    app_versions = list((project.root / "migrations" / "versions").glob("*.py"))
    assert len(app_versions) == 1, app_versions
    text = app_versions[0].read_text()
    assert "widgets" in text
    # ... holds only the app's changes, not the passport tables ...
    assert "oauth_" not in text, text
    # ... and never lands in the installed package.
    assert _package_versions() == before
    _ok(project.flask("db", "upgrade", WITH_WIDGETS="1"))
    assert "widgets" in _tables(database)
    # Nothing is left to migrate.
    _ok(project.flask("db", "check", WITH_WIDGETS="1"))


def test_passport_registered_before_flask_migrate(tmp_path: Path, database: dict[str, str]
                                                  ) -> None:
    project = AppDir(tmp_path / "project", None, database)
    _ok(project.flask("db", "init", PASSPORT_FIRST="1"))
    _ok(project.flask("db", "upgrade", PASSPORT_FIRST="1"))
    assert _tables(database) >= OAUTH_TABLES


def test_opt_out(tmp_path: Path, database: dict[str, str]) -> None:
    project = AppDir(tmp_path / "project", None, database)
    _ok(project.flask("db", "init", OPT_OUT="1"))
    _ok(project.flask("db", "upgrade", OPT_OUT="1"))
    assert not (OAUTH_TABLES & _tables(database))


def test_migration_matches_the_models_and_downgrades(tmp_path: Path, database: dict[str, str]
                                                    ) -> None:
    """The migration builds the columns db.create_all() would, and downgrades cleanly."""
    from conftest import db as test_db

    from flask_passport.models import build_models

    project = AppDir(tmp_path / "project", None, database)
    _ok(project.flask("db", "init"))
    _ok(project.flask("db", "upgrade"))
    engine = _engine(database)
    try:
        inspector = sa.inspect(engine)
        migrated = {t: {c["name"]: c["nullable"] for c in inspector.get_columns(t)}
                    for t in OAUTH_TABLES}
        indexes = {t: {tuple(i["column_names"]) for i in inspector.get_indexes(t)}
                   for t in OAUTH_TABLES}
    finally:
        engine.dispose()
    build_models(test_db)
    for table in OAUTH_TABLES:
        columns = test_db.metadata.tables[table].columns
        assert {c.name: c.nullable for c in columns} == migrated[table], table
    assert ("user_id",) in indexes["oauth_access_tokens"]
    assert ("family_id",) in indexes["oauth_refresh_tokens"]
    _ok(project.flask("db", "downgrade", "passport@base"))
    assert not (OAUTH_TABLES & _tables(database))


NEW_PASSPORT_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "c0ffeec0ffee"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("oauth_future", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("oauth_future")
"""


def _package_head(directory: Path) -> str:
    import re

    revisions, parents = set(), set()
    for path in directory.glob("*.py"):
        text = path.read_text()
        revisions.add(re.search(r"^revision = [\"'](\w+)", text, re.M).group(1))  # type: ignore[union-attr]
        down = re.search(r"^down_revision = [\"'](\w+)", text, re.M)
        if down:
            parents.add(down.group(1))
    (head,) = revisions - parents
    return head


def test_app_with_own_revisions_upgrades_to_a_newer_passport(tmp_path: Path,
                                                             database: dict[str, str]) -> None:
    """After the app has its own revisions, a flask-passport release with a new revision still
    upgrades with a plain ``flask db upgrade`` (no "multiple heads" error)."""
    import shutil

    fake = tmp_path / "passport_versions"
    shutil.copytree(PACKAGE_VERSIONS, fake, ignore=shutil.ignore_patterns("__pycache__"))
    project = AppDir(tmp_path / "project", None, database)
    env = {"FAKE_VERSIONS": str(fake), "WITH_WIDGETS": "1"}
    _ok(project.flask("db", "init", **env))
    _ok(project.flask("db", "upgrade", **env))
    _ok(project.flask("db", "migrate", "-m", "widgets", **env))
    _ok(project.flask("db", "upgrade", **env))
    (fake / "c0ffeec0ffee_future.py").write_text(
        NEW_PASSPORT_REVISION.format(down=_package_head(fake)))
    _ok(project.flask("db", "upgrade", **env))
    assert {"oauth_future", "widgets"} <= _tables(database)
    # The app's next revision builds on the app's own chain, not on Passport's.
    (first,) = (project.root / "migrations" / "versions").glob("*.py")
    first_id = first.name.split("_")[0]
    _ok(project.flask("db", "migrate", "-m", "gadgets", WITH_GADGETS="1", **env))
    (second,) = set((project.root / "migrations" / "versions").glob("*.py")) - {first}
    assert f"down_revision = '{first_id}'" in second.read_text()
    _ok(project.flask("db", "upgrade", WITH_GADGETS="1", **env))
    assert "gadgets" in _tables(database)
