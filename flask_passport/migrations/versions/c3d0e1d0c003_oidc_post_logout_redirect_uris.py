"""OpenID Connect: post_logout_redirect_uris on oauth_clients (RP-initiated logout), and an
index on oauth_auth_codes.access_token_id (a refreshed ID token reads the original auth_time).

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
    op.create_index("ix_oauth_auth_codes_access_token_id", "oauth_auth_codes", ["access_token_id"])


def downgrade() -> None:
    op.drop_index("ix_oauth_auth_codes_access_token_id", table_name="oauth_auth_codes")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("post_logout_redirect_uris")
