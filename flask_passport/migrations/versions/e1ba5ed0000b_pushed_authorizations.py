"""Pushed authorization requests (RFC 9126): the oauth_pushed_authorizations table and
oauth_clients.require_pushed_authorization_requests.

Revision ID: e1ba5ed0000b
Revises: d0c1a5e0000a (cjwt, merged here; a7c0ffee0007 on main)
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "e1ba5ed0000b"
down_revision = "d0c1a5e0000a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "oauth_pushed_authorizations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(36),
                  sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("expires_at", ts, nullable=False),
    )
    op.create_index("ix_oauth_pushed_authorizations_client_id", "oauth_pushed_authorizations",
                    ["client_id"])
    op.create_index("ix_oauth_pushed_authorizations_expires_at", "oauth_pushed_authorizations",
                    ["expires_at"])
    op.add_column("oauth_clients", sa.Column("require_pushed_authorization_requests",
                                             sa.Boolean(), nullable=False,
                                             server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("require_pushed_authorization_requests")
    op.drop_table("oauth_pushed_authorizations")
