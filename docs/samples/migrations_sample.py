"""Creating Passport's tables with Flask-Migrate: Passport's branch and the app's chain are two
Alembic bases, so ``upgrade heads`` applies both."""

from __future__ import annotations

import tempfile

import sqlalchemy as sa

from myapp import create_app, db


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # [migrate]
        from flask_migrate import Migrate

        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/app.sqlite"})
        Migrate(app, db, directory=f"{tmp}/migrations")

        cli = app.test_cli_runner()
        for command in (["db", "init"],                    # once per project
                        ["db", "upgrade", "heads"],        # Passport's oauth_* tables
                        ["db", "migrate", "-m", "users"],  # a revision for your own models
                        ["db", "upgrade", "heads"]):       # ...applied: both chains' heads
            result = cli.invoke(args=command)
            assert result.exit_code == 0, (command, result.output, result.exception)
        # [/migrate]
        with app.app_context():
            tables = set(sa.inspect(db.engine).get_table_names())
        assert {"users", "oauth_clients", "oauth_access_tokens", "oauth_refresh_tokens",
                "oauth_auth_codes"} <= tables, tables
    print("migrations OK")


if __name__ == "__main__":
    main()
