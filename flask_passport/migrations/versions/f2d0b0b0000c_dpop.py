"""DPoP (RFC 9449): the key thumbprint (``dpop_jkt``) an authorization code, access token or
refresh token is bound to, and ``oauth_clients.dpop_bound_access_tokens`` (RFC 9449 §5.2).

No index: a token is always found by its id, and its ``dpop_jkt`` is only compared.

Revision ID: f2d0b0b0000c
Revises: e1ba5ed0000b (par, merged here; a7c0ffee0007 on main)
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "f2d0b0b0000c"
down_revision = "e1ba5ed0000b"
branch_labels = None
depends_on = None

_TOKEN_TABLES = ("oauth_auth_codes", "oauth_access_tokens", "oauth_refresh_tokens")


def upgrade() -> None:
    for table in _TOKEN_TABLES:
        op.add_column(table, sa.Column("dpop_jkt", sa.String(64), nullable=True))
    op.add_column("oauth_clients", sa.Column("dpop_bound_access_tokens", sa.Boolean(),
                                             nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("dpop_bound_access_tokens")
    for table in _TOKEN_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("dpop_jkt")
