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
                "oauth_auth_codes", "oauth_pending_authorizations",
                "oauth_pushed_authorizations"}

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


def _multiple_heads(result: subprocess.CompletedProcess[str]) -> None:
    """Alembic's own refusal of ``upgrade head`` with two heads, pointing at ``heads``."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Multiple head revisions" in result.stderr and "'heads'" in result.stderr, (
        result.stderr)


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
    # Two bases now (Passport's and the app's): a bare ``upgrade`` (Alembic's ``head``) stops
    # before touching the database and names the command that applies both.
    _multiple_heads(project.flask("db", "upgrade", WITH_WIDGETS="1"))
    assert "widgets" not in _tables(database)
    _ok(project.flask("db", "upgrade", "heads", WITH_WIDGETS="1"))
    assert "widgets" in _tables(database)
    # Nothing is left to migrate.
    _ok(project.flask("db", "check", WITH_WIDGETS="1"))


def test_newcomer_story(tmp_path: Path, database: dict[str, str]) -> None:
    """The commands the docs give a new project, typed in order, with the real ``flask``."""
    before = _package_versions()
    project = AppDir(tmp_path / "project", None, database)
    # No migrations folder of its own yet: Flask-Migrate says what to run first.
    missing = project.flask("db", "upgrade", "heads")
    assert missing.returncode != 0 and "init" in missing.stderr, missing.stderr
    assert not (OAUTH_TABLES & _tables(database))
    _ok(project.flask("db", "init"))
    _ok(project.flask("db", "upgrade", "heads"))
    assert _tables(database) >= OAUTH_TABLES
    _ok(project.flask("db", "migrate", "-m", "widgets", WITH_WIDGETS="1"))
    _ok(project.flask("db", "upgrade", "heads", WITH_WIDGETS="1"))
    assert "widgets" in _tables(database)
    # A hand-written revision (no autogenerate) also goes to the app's folder, on its chain.
    (first,) = (project.root / "migrations" / "versions").glob("*.py")
    _ok(project.flask("db", "revision", "-m", "by hand", WITH_WIDGETS="1"))
    (second,) = set((project.root / "migrations" / "versions").glob("*.py")) - {first}
    assert f"down_revision = '{first.name.split('_')[0]}'" in second.read_text()
    _ok(project.flask("db", "upgrade", "heads", WITH_WIDGETS="1"))
    heads = project.flask("db", "heads", WITH_WIDGETS="1")
    _ok(heads)
    assert len(heads.stdout.split()) >= 2 and "(passport)" in heads.stdout, heads.stdout
    _ok(project.flask("db", "check", WITH_WIDGETS="1"))
    assert _package_versions() == before


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

    from flask_passport.storage.models import build_models

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
    """After the app has its own revisions, a flask-passport release with a new revision
    upgrades with the same ``flask db upgrade heads``: the app's chain never forks."""
    import shutil

    fake = tmp_path / "passport_versions"
    shutil.copytree(PACKAGE_VERSIONS, fake, ignore=shutil.ignore_patterns("__pycache__"))
    project = AppDir(tmp_path / "project", None, database)
    env = {"FAKE_VERSIONS": str(fake), "WITH_WIDGETS": "1"}
    _ok(project.flask("db", "init", **env))
    _ok(project.flask("db", "upgrade", **env))
    _ok(project.flask("db", "migrate", "-m", "widgets", **env))
    _ok(project.flask("db", "upgrade", "heads", **env))
    (fake / "c0ffeec0ffee_future.py").write_text(
        NEW_PASSPORT_REVISION.format(down=_package_head(fake)))
    _ok(project.flask("db", "upgrade", "heads", **env))
    assert {"oauth_future", "widgets"} <= _tables(database)
    # The app's next revision builds on the app's own chain, not on Passport's.
    (first,) = (project.root / "migrations" / "versions").glob("*.py")
    first_id = first.name.split("_")[0]
    _ok(project.flask("db", "migrate", "-m", "gadgets", WITH_GADGETS="1", **env))
    (second,) = set((project.root / "migrations" / "versions").glob("*.py")) - {first}
    assert f"down_revision = '{first_id}'" in second.read_text()
    _ok(project.flask("db", "upgrade", "heads", WITH_GADGETS="1", **env))
    assert "gadgets" in _tables(database)



def _make_app(order: str, database_url: str, migrate: Any) -> Any:
    """One app with Passport (``PASSPORT_MIGRATIONS`` left at its default) and Flask-Migrate
    registered before or after Passport (or not at all), then one app context pushed, as
    ``flask db ...`` does before it runs a command (not for ``...-unused``)."""
    from conftest import db as test_db
    from flask import Flask

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    test_db.init_app(app)
    if order == "migrate-first":
        migrate.init_app(app, test_db)
    flask_passport.Passport(app, db=test_db)
    if order.startswith("passport-first"):
        migrate.init_app(app, test_db)
    if not order.endswith("-unused"):
        with app.app_context():
            pass
    return app


@pytest.mark.parametrize(("order", "shared"), [
    (order, shared) for order in ("migrate-first", "passport-first", "passport-first-unused")
    for shared in (False, True)] + [("no-migrate", False)])
def test_apps_are_not_retained(tmp_path: Path, order: str, shared: bool) -> None:
    """Creating and dropping apps leaves no app alive and nothing piling up: the Flask-Migrate
    wiring holds no strong reference to an app, leaves no receiver on ``appcontext_pushed``, and
    adds its configure callback once to a ``Migrate`` shared by many apps."""
    import gc
    import weakref

    from flask import appcontext_pushed
    from flask_migrate import Migrate

    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    shared_migrate = Migrate()

    def migrate() -> Migrate:
        return shared_migrate if shared else Migrate()

    warm_up = _make_app(order, url, migrate())  # first-use imports and one-time registrations
    del warm_up
    gc.collect()
    receivers_before = len(appcontext_pushed.receivers)
    callbacks_before = len(shared_migrate.configure_callbacks)
    refs = [weakref.ref(_make_app(order, url, migrate())) for _ in range(50)]
    gc.collect()
    alive = [r for r in refs if r() is not None]
    assert not alive, f"{len(alive)} of 50 apps are still referenced"
    assert len(appcontext_pushed.receivers) == receivers_before
    assert len(shared_migrate.configure_callbacks) == callbacks_before


def test_wiring_is_per_app_and_patches_nothing(tmp_path: Path) -> None:
    """One ``Migrate`` shared by three apps: only the app with Passport's migrations on gets
    Passport's version location, and Flask-Migrate's ``upgrade`` keeps its own default."""
    from conftest import db as test_db
    from flask import Flask
    from flask_migrate import Migrate
    from flask_migrate.cli import upgrade

    migrate = Migrate(directory=str(tmp_path / "migrations"))

    def app(passport: bool, **config: Any) -> Flask:
        app = Flask(__name__)
        app.config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.sqlite'}",
                          **config)
        test_db.init_app(app)
        migrate.init_app(app, test_db)
        if passport:
            flask_passport.Passport(app, db=test_db)
        return app

    def locations(app: Flask) -> str:
        with app.app_context():
            return migrate.get_config().get_main_option("version_locations") or ""

    wired = app(True)
    opted_out = app(True, PASSPORT_MIGRATIONS=False)
    without = app(False)
    assert str(PACKAGE_VERSIONS) in locations(wired)
    assert str(PACKAGE_VERSIONS) not in locations(opted_out)
    assert str(PACKAGE_VERSIONS) not in locations(without)
    assert [p.default for p in upgrade.params if p.name == "revision"] == ["head"]


@pytest.mark.parametrize("passport_first", [False, True], ids=["migrate-first", "passport-first"])
def test_own_process_revision_directives_still_runs(tmp_path: Path, passport_first: bool) -> None:
    """A ``process_revision_directives`` given to ``Migrate(...)`` runs after Passport's, which
    has already placed the revision in the app's folder."""
    from types import SimpleNamespace

    from conftest import db as test_db
    from flask import Flask
    from flask_migrate import Migrate

    seen: list[Any] = []
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'app.sqlite'}"
    test_db.init_app(app)
    migrate = Migrate(directory=str(tmp_path / "migrations"),
                      process_revision_directives=lambda c, r, d: seen.append(d[0].version_path))
    if passport_first:
        flask_passport.Passport(app, db=test_db)
    migrate.init_app(app, test_db)
    if not passport_first:
        flask_passport.Passport(app, db=test_db)
    with app.app_context():
        config = migrate.get_config()
        hook = app.extensions["migrate"].configure_args["process_revision_directives"]
    directive = SimpleNamespace(version_path=None, head="app@head")
    hook(SimpleNamespace(config=config), None, [directive])
    assert seen == [str(tmp_path / "migrations" / "versions")]
