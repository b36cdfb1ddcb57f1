"""The score sheet's states and the only moves between them (Đ8 Step 1)."""

from __future__ import annotations

from enum import StrEnum

from hbs_grades.models import SheetState
from hbs_grades.workflow import StateMachine, signing_step
from hbs_shared.labels import SHEET_STATE_LABELS


class SheetAction(StrEnum):
    submit = "submit"
    request_signature = "request_signature"
    signature_completed = "signature_completed"
    signature_failed = "signature_failed"
    correct = "correct"
    """A correction after signing (Đ9), opened by the board with its minutes: the sheet reopens."""


EDITABLE = (SheetState.open, SheetState.submitted)
"""The states in which a sheet takes changes (and follows its class-subject's teacher)."""

TRANSITIONS: dict[tuple[SheetState, SheetAction], SheetState] = {
    (SheetState.open, SheetAction.submit): SheetState.submitted,
    **signing_step(
        SheetState.submitted,
        SheetAction.request_signature,
        SheetState.signing,
        SheetState.signed,
        completed=SheetAction.signature_completed,
        failed=SheetAction.signature_failed,
    ),
    (SheetState.signed, SheetAction.correct): SheetState.open,
}


SHEETS = StateMachine(
    TRANSITIONS,
    {state: SHEET_STATE_LABELS[state.value] for state in SheetState},
    title="Thao tác không hợp lệ ở trạng thái hiện tại",
    detail="cannot {action} a sheet that is {state} ({label})",
)
"""`.next(state, action)`: the state after, or a 409 naming the state the sheet is in; `.label(state)`."""
