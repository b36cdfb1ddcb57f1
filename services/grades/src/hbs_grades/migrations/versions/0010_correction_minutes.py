"""A sheet's correction keeps its minutes in full (Đ9.2): who was present, the cells under the
correction (with the values the signed sheet carried), and the board member's signature of the
minutes (request, signed document, failure).

Revision ID: 0010
Revises: 0011 (after the merge of h/audit; the lead assigned 0007)
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "present",
    "cells",
    "minutes_request_id",
    "minutes_document_id",
    "minutes_signed_at",
    "minutes_error",
)


def upgrade() -> None:
    with op.batch_alter_table("sheet_corrections") as table:
        # Corrections opened before this revision listed no cells: empty lists, not NULL.
        table.add_column(sa.Column("present", sa.JSON(), nullable=False, server_default="[]"))
        table.add_column(sa.Column("cells", sa.JSON(), nullable=False, server_default="[]"))
        table.add_column(sa.Column("minutes_request_id", sa.Uuid(), nullable=True))
        table.add_column(sa.Column("minutes_document_id", sa.Uuid(), nullable=True))
        table.add_column(sa.Column("minutes_signed_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("minutes_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sheet_corrections") as table:
        for column in reversed(_COLUMNS):
            table.drop_column(column)
