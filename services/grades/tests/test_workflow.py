"""Đ8 Step 1: the score sheet moves only along its workflow."""

from __future__ import annotations

import pytest

from hbs_grades.models import SheetState
from hbs_grades.sheets.workflow import SHEETS, TRANSITIONS, SheetAction
from hbs_shared.problems import Problem


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (SheetState.open, SheetAction.submit, SheetState.submitted),
        (SheetState.submitted, SheetAction.request_signature, SheetState.signing),
        (SheetState.signing, SheetAction.signature_completed, SheetState.signed),
        (SheetState.signing, SheetAction.signature_failed, SheetState.submitted),
        # Đ9: only a correction under the board's minutes reopens a signed sheet.
        (SheetState.signed, SheetAction.correct, SheetState.open),
    ],
)
def test_allowed_moves(state: SheetState, action: SheetAction, expected: SheetState) -> None:
    assert SHEETS.next(state, action) is expected


def test_every_other_move_is_a_conflict_naming_the_state() -> None:
    refused = [
        (state, action)
        for state in SheetState
        for action in SheetAction
        if (state, action) not in TRANSITIONS
    ]
    assert len(refused) == len(SheetState) * len(SheetAction) - 5
    for state, action in refused:
        with pytest.raises(Problem) as caught:
            SHEETS.next(state, action)
        assert caught.value.status == 409
        assert caught.value.field == "state"
        assert state.value in caught.value.detail


def test_a_signed_sheet_cannot_be_signed_or_submitted_again() -> None:
    for action in (SheetAction.submit, SheetAction.request_signature):
        with pytest.raises(Problem):
            SHEETS.next(SheetState.signed, action)
