"""The outbox remembers which broker (cluster id) acknowledged each row, to resend what a
restarted in-memory broker lost (issue 12).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from hbs_shared.messaging.migration import add_outbox_sent_to, drop_outbox_sent_to

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_sent_to()


def downgrade() -> None:
    drop_outbox_sent_to()
