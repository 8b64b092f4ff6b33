"""The oauth_device_codes table (RFC 8628 device authorization grant).

Revision ID: d4e0de71ce04
Revises: c3d0e1d0c003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "d4e0de71ce04"
down_revision = "c3d0e1d0c003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "oauth_device_codes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("device_code_hash", sa.String(64), nullable=False),
        sa.Column("user_code_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(36),
                  sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", ts, nullable=True),
        sa.Column("access_token_id", sa.String(36), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("expires_at", ts, nullable=False),
        sa.UniqueConstraint("user_code_hash", name="uq_oauth_device_codes_user_code_hash"),
    )
    op.create_index("ix_oauth_device_codes_client_id", "oauth_device_codes", ["client_id"])
    op.create_index("ix_oauth_device_codes_user_id", "oauth_device_codes", ["user_id"])
    op.create_index("ix_oauth_device_codes_expires_at", "oauth_device_codes", ["expires_at"])


def downgrade() -> None:
    op.drop_table("oauth_device_codes")
