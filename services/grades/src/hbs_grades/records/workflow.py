"""The year record's states and the only moves between them (Đ8 Steps 2–4, Đ9): which step opens
from which state, who signs it (hbs_shared.signing_order), and that the principal approves a
class only once every record of it is reviewed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from enum import StrEnum

from hbs_grades.models import RecordState
from hbs_shared.labels import RECORD_STATE_LABELS
from hbs_shared.problems import Problem
from hbs_shared.signing_order import RECORD_STEP_NAMES, SIGNING_STEPS


class RecordAction(StrEnum):
    request_homeroom = "request_homeroom"
    request_vice_principal = "request_vice_principal"
    request_principal = "request_principal"
    signature_completed = "signature_completed"
    signature_failed = "signature_failed"
    give_back = "give_back"
    """The vice-principal (or principal) returns it to the homeroom teacher with a reason."""
    reopen = "reopen"
    """A correction of a sheet it depends on (Đ9): the record is signed again from step 2."""


class Step(StrEnum):
    """Who signs, in order; the principal's signature comes with the school seal."""

    homeroom = "homeroom"
    vice_principal = "vice_principal"
    principal = "principal"


S = RecordState
TRANSITIONS: dict[tuple[RecordState, RecordAction], RecordState] = {
    (S.draft, RecordAction.request_homeroom): S.signing_homeroom,
    (S.signing_homeroom, RecordAction.signature_completed): S.homeroom_signed,
    (S.signing_homeroom, RecordAction.signature_failed): S.draft,
    (S.homeroom_signed, RecordAction.request_vice_principal): S.signing_vice_principal,
    (S.signing_vice_principal, RecordAction.signature_completed): S.reviewed,
    (S.signing_vice_principal, RecordAction.signature_failed): S.homeroom_signed,
    (S.reviewed, RecordAction.request_principal): S.signing_principal,
    (S.signing_principal, RecordAction.signature_completed): S.approved,
    (S.signing_principal, RecordAction.signature_failed): S.reviewed,
    (S.homeroom_signed, RecordAction.give_back): S.draft,
    (S.reviewed, RecordAction.give_back): S.draft,
    **{(state, RecordAction.reopen): S.draft for state in RecordState},
}

STEP_ACTION = {
    Step.homeroom: RecordAction.request_homeroom,
    Step.vice_principal: RecordAction.request_vice_principal,
    Step.principal: RecordAction.request_principal,
}
STEP_READY = {Step.homeroom: S.draft, Step.vice_principal: S.homeroom_signed, Step.principal: S.reviewed}
"""The state a record must be in for the step's signature."""
STEP_NUMBER = {Step(name): number for name, number in RECORD_STEP_NAMES.items()}
"""Each step's number in Điều 8 (2, 3, 4)."""
STEP_ROLE = {step: SIGNING_STEPS[number] for step, number in STEP_NUMBER.items()}
"""Who signs each step, from the one signing order."""
SIGNING = (S.signing_homeroom, S.signing_vice_principal, S.signing_principal)


APPROVABLE = (S.reviewed, S.approved)
"""Đ3: the principal approves a class only when each of its records is reviewed (or approved)."""


def awaiting_review(states: Iterable[RecordState]) -> Counter[str]:
    """How many records of a class wait, per state (named), before the principal may approve it."""
    return Counter(state_label(state) for state in states if state not in APPROVABLE)


def state_label(state: RecordState) -> str:
    return RECORD_STATE_LABELS[state.value]


def next_state(state: RecordState, action: RecordAction) -> RecordState:
    """The state after `action`, or a 409 naming the state the record is in."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise Problem(
            409,
            f"Học bạ đang ở trạng thái “{state_label(state)}”, không thực hiện được thao tác này",
            f"cannot {action.value} a record that is {state.value}",
            field="state",
        ) from None
