"""Dynamic client registration (RFC 7591, RFC 7592): oauth_clients.registered, the digest of
the registration access token, and the registered metadata kept to be returned.

Revision ID: f6d0c1e0de06
Revises: e5a1d70c1d05
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "f6d0c1e0de06"
down_revision = "e5a1d70c1d05"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("oauth_clients", sa.Column("registered", sa.Boolean(), nullable=False,
                                             server_default=sa.false()))
    op.add_column("oauth_clients",
                  sa.Column("registration_token_hash", sa.String(64), nullable=True))
    op.add_column("oauth_clients", sa.Column("registration_metadata", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("registration_metadata")
        batch.drop_column("registration_token_hash")
        batch.drop_column("registered")
