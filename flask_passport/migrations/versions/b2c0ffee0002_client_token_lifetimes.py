"""Per-client token lifetimes on oauth_clients.

Revision ID: b2c0ffee0002
Revises: a1f0c0de0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "b2c0ffee0002"
down_revision = "a1f0c0de0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("oauth_clients", sa.Column("access_token_lifetime", sa.Integer(), nullable=True))
    op.add_column("oauth_clients", sa.Column("refresh_token_lifetime", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("refresh_token_lifetime")
        batch.drop_column("access_token_lifetime")
