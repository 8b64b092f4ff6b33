"""Resource indicators (RFC 8707): the resources a client may ask for, and those each grant and
token is bound to.

Revision ID: b8a0d1e00008
Revises: a7c0ffee0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "b8a0d1e00008"
down_revision = "a7c0ffee0007"
branch_labels = None
depends_on = None

_BOUND = ("oauth_auth_codes", "oauth_device_codes", "oauth_access_tokens",
          "oauth_refresh_tokens")


def upgrade() -> None:
    op.add_column("oauth_clients", sa.Column("allowed_resources", sa.JSON(), nullable=True))
    for table in _BOUND:
        op.add_column(table, sa.Column("resources", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in reversed(_BOUND):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("resources")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("allowed_resources")
