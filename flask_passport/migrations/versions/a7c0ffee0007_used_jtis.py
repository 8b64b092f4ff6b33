"""The oauth_used_jtis table: single-use values (DPoP proof and client assertion ``jti``).

Revision ID: a7c0ffee0007
Revises: f6d0c1e0de06
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "a7c0ffee0007"
down_revision = "f6d0c1e0de06"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_used_jtis",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_oauth_used_jtis_expires_at", "oauth_used_jtis", ["expires_at"])


def downgrade() -> None:
    op.drop_table("oauth_used_jtis")
