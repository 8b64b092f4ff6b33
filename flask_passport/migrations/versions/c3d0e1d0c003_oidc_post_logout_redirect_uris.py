"""OpenID Connect RP-initiated logout: post_logout_redirect_uris on oauth_clients.

Revision ID: c3d0e1d0c003
Revises: b2c0ffee0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "c3d0e1d0c003"
down_revision = "b2c0ffee0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("oauth_clients", sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("post_logout_redirect_uris")
