"""OpenID Connect: id_token_signed_response_alg on oauth_clients (the algorithm a client
registered for its ID tokens; NULL means RS256).

Revision ID: e5a1d70c1d05
Revises: e5a11c0de005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "e5a1d70c1d05"
down_revision = "e5a11c0de005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("oauth_clients",
                  sa.Column("id_token_signed_response_alg", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("id_token_signed_response_alg")
