"""Signature activation (PINs, audit, activations) and signature counts on documents.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("signature_count", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("sealed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("base_document_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("printed_code", sa.String(16), nullable=True))
        batch.create_index("ix_documents_printed_code", ["printed_code"])
    op.create_table(
        "signing_pins",
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("pin_hash", sa.String(200), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "signing_pin_audit",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("user_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("actor_user_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "activations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("user_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("subject_ids", sa.JSON(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("activations")
    op.drop_table("signing_pin_audit")
    op.drop_table("signing_pins")
    with op.batch_alter_table("documents") as batch:
        batch.drop_index("ix_documents_printed_code")
        batch.drop_column("printed_code")
        batch.drop_column("base_document_id")
        batch.drop_column("sealed")
        batch.drop_column("signature_count")
