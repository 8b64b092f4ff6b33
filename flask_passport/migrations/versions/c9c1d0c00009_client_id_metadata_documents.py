"""OAuth Client ID Metadata Documents: the URL a document client is known by (unique), and
when the metadata copied from its document must be fetched again.

Revision ID: c9c1d0c00009
Revises: e1ba5ed0000b
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "c9c1d0c00009"
down_revision = "e1ba5ed0000b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("oauth_clients",
                  sa.Column("metadata_document_url", sa.String(2048), nullable=True))
    op.add_column("oauth_clients", sa.Column("metadata_document_expires_at",
                                             sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_oauth_clients_metadata_document_url", "oauth_clients",
                    ["metadata_document_url"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_oauth_clients_metadata_document_url", table_name="oauth_clients")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("metadata_document_expires_at")
        batch.drop_column("metadata_document_url")
