"""Đ8 Steps 2–4: the year record moves only along its workflow (pure rules, no server)."""

from __future__ import annotations

import pytest

from hbs_grades.models import RecordState
from hbs_grades.progress.steps import DONE_RECORD_STATES, is_done
from hbs_grades.records.workflow import (
    RECORDS,
    STEP_ACTION,
    STEP_READY,
    TRANSITIONS,
    RecordAction,
    Step,
    awaiting_review,
)
from hbs_shared.problems import Problem

S = RecordState


def test_each_step_signs_on_the_one_before_and_a_failure_goes_back_one_step() -> None:
    path = [
        (Step.homeroom, S.signing_homeroom, S.homeroom_signed),
        (Step.vice_principal, S.signing_vice_principal, S.reviewed),
        (Step.principal, S.signing_principal, S.approved),
    ]
    state = S.draft
    for step, signing, signed in path:
        assert STEP_READY[step] is state
        assert RECORDS.next(state, STEP_ACTION[step]) is signing
        assert RECORDS.next(signing, RecordAction.signature_failed) is state
        state = RECORDS.next(signing, RecordAction.signature_completed)
        assert state is signed


def test_the_principal_cannot_sign_before_the_vice_principal_nor_anyone_twice() -> None:
    for state in (S.draft, S.homeroom_signed, S.approved):
        with pytest.raises(Problem) as caught:
            RECORDS.next(state, RecordAction.request_principal)
        assert caught.value.status == 409
        assert caught.value.field == "state"
        assert state.value in caught.value.detail
    with pytest.raises(Problem):
        RECORDS.next(S.approved, RecordAction.request_homeroom)


def test_only_signed_records_are_returned_and_a_correction_reopens_any_but_a_revoked_one() -> None:
    returnable = {state for (state, action) in TRANSITIONS if action is RecordAction.give_back}
    assert returnable == {S.homeroom_signed, S.reviewed}
    for state in RecordState:
        if state is not S.revoked:
            assert RECORDS.next(state, RecordAction.reopen) is S.draft
    with pytest.raises(Problem):
        RECORDS.next(S.revoked, RecordAction.reopen)


def test_only_an_approved_record_is_revoked_and_revoked_is_final_and_holds_no_class_back() -> None:
    """Issue 13 §5: the board annuls a sealed record under minutes; nothing leaves `revoked`."""
    revocable = {state for (state, action) in TRANSITIONS if action is RecordAction.revoke}
    assert revocable == {S.approved}
    assert RECORDS.next(S.approved, RecordAction.revoke) is S.revoked
    assert not [action for (state, action) in TRANSITIONS if state is S.revoked]
    assert awaiting_review([S.reviewed, S.revoked, S.approved]) == {}
    # The board's progress view does not count it as missing work in any step.
    assert all(is_done(step, S.revoked) for step in DONE_RECORD_STATES)
