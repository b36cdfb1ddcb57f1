"""The score sheet's states and the only moves between them (Đ8 Step 1)."""

from __future__ import annotations

from enum import StrEnum

from hbs_grades.models import SheetState
from hbs_shared.labels import SHEET_STATE_LABELS
from hbs_shared.problems import Problem


class SheetAction(StrEnum):
    submit = "submit"
    request_signature = "request_signature"
    signature_completed = "signature_completed"
    signature_failed = "signature_failed"
    correct = "correct"
    """A correction after signing (Đ9), opened by the board with its minutes: the sheet reopens."""


TRANSITIONS: dict[tuple[SheetState, SheetAction], SheetState] = {
    (SheetState.open, SheetAction.submit): SheetState.submitted,
    (SheetState.submitted, SheetAction.request_signature): SheetState.signing,
    (SheetState.signing, SheetAction.signature_completed): SheetState.signed,
    (SheetState.signing, SheetAction.signature_failed): SheetState.submitted,
    (SheetState.signed, SheetAction.correct): SheetState.open,
}


def state_label(state: SheetState) -> str:
    return SHEET_STATE_LABELS[state.value]


def next_state(state: SheetState, action: SheetAction) -> SheetState:
    """The state after `action`, or a 409 naming the state the sheet is in."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise Problem(
            409,
            "Thao tác không hợp lệ ở trạng thái hiện tại",
            f"cannot {action.value} a sheet that is {state.value} ({state_label(state)})",
            field="state",
        ) from None
