"""Certificates, documents, signing requests, outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hbs_shared.messaging.migration import create_messaging_tables, drop_messaging_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "certificates",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("user_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("key_label", sa.String(64), nullable=False),
        sa.Column("subject_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        _created_at(),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("request_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("signer_user_id", sa.Uuid(), nullable=False),
        sa.Column("signer_role", sa.String(40), nullable=False),
        sa.Column("certificate_sha256", sa.String(64), nullable=False),
        sa.Column("verification_code", sa.String(16), nullable=False, unique=True),
        _created_at(),
    )
    op.create_table(
        "signing_requests",
        sa.Column("request_id", sa.Uuid(), primary_key=True),
        sa.Column("subject_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("signer_user_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        _created_at(),
    )


def downgrade() -> None:
    op.drop_table("signing_requests")
    op.drop_table("documents")
    op.drop_table("certificates")
    drop_messaging_tables()
