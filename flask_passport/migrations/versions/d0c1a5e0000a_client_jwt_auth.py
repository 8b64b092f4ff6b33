"""JWT client authentication (RFC 7523 §2.2, OpenID Connect Core §9): each client's
token_endpoint_auth_method, its public keys (jwks by value, or jwks_uri) for private_key_jwt,
and the encrypted secret of client_secret_jwt clients.

Revision ID: d0c1a5e0000a
Revises: a7c0ffee0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "d0c1a5e0000a"
down_revision = "a7c0ffee0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("oauth_clients",
                  sa.Column("token_endpoint_auth_method", sa.String(32), nullable=True))
    op.add_column("oauth_clients", sa.Column("jwks", sa.Text(), nullable=True))
    op.add_column("oauth_clients", sa.Column("jwks_uri", sa.Text(), nullable=True))
    op.add_column("oauth_clients", sa.Column("secret_encrypted", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("secret_encrypted")
        batch.drop_column("jwks_uri")
        batch.drop_column("jwks")
        batch.drop_column("token_endpoint_auth_method")
