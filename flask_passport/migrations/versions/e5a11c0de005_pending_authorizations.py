"""The oauth_pending_authorizations table: consent and device pages awaiting an answer.

Revision ID: e5a11c0de005
Revises: d4e0de71ce04
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "e5a11c0de005"
down_revision = "d4e0de71ce04"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "oauth_pending_authorizations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("client_id", sa.String(36),
                  sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("expires_at", ts, nullable=False),
    )
    op.create_index("ix_oauth_pending_authorizations_user_id", "oauth_pending_authorizations",
                    ["user_id"])
    op.create_index("ix_oauth_pending_authorizations_client_id", "oauth_pending_authorizations",
                    ["client_id"])
    op.create_index("ix_oauth_pending_authorizations_expires_at", "oauth_pending_authorizations",
                    ["expires_at"])


def downgrade() -> None:
    op.drop_table("oauth_pending_authorizations")
