"""The year record's states and the only moves between them (Đ8 Steps 2–4, Đ9): which step opens
from which state, who signs it (hbs_shared.signing_order), and that the principal approves a
class only once every record of it is reviewed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from enum import StrEnum

from hbs_grades.models import RecordState, YearRecord
from hbs_grades.workflow import StateMachine, signing_step
from hbs_shared.labels import RECORD_STATE_LABELS
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
    revoke = "revoke"
    """The board annuls an approved record under minutes (Đ9): final."""


class Step(StrEnum):
    """Who signs, in order; the principal's signature comes with the school seal."""

    homeroom = "homeroom"
    vice_principal = "vice_principal"
    principal = "principal"


S = RecordState


def _step(ready: S, request: RecordAction, signing: S, signed: S) -> dict[tuple[S, RecordAction], S]:
    done, failed = RecordAction.signature_completed, RecordAction.signature_failed
    return signing_step(ready, request, signing, signed, completed=done, failed=failed)


TRANSITIONS: dict[tuple[RecordState, RecordAction], RecordState] = {
    **_step(S.draft, RecordAction.request_homeroom, S.signing_homeroom, S.homeroom_signed),
    **_step(S.homeroom_signed, RecordAction.request_vice_principal, S.signing_vice_principal, S.reviewed),
    **_step(S.reviewed, RecordAction.request_principal, S.signing_principal, S.approved),
    (S.homeroom_signed, RecordAction.give_back): S.draft,
    (S.reviewed, RecordAction.give_back): S.draft,
    **{(state, RecordAction.reopen): S.draft for state in RecordState if state is not S.revoked},
    (S.approved, RecordAction.revoke): S.revoked,
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
SIGNING_STEP = {S.signing_homeroom: 2, S.signing_vice_principal: 3, S.signing_principal: 4}
"""The step (Điều 8) a record being signed is at."""


RECORDS = StateMachine(
    TRANSITIONS,
    {state: RECORD_STATE_LABELS[state.value] for state in RecordState},
    title="Học bạ đang ở trạng thái “{label}”, không thực hiện được thao tác này",
    detail="cannot {action} a record that is {state}",
)
"""`.next(state, action)`: the state after, or a 409 naming the state the record is in; `.label(state)`."""

APPROVABLE = (S.reviewed, S.approved, S.revoked)
"""Đ3: the principal approves a class only when each of its records is reviewed (or approved, or
revoked: an annulled record is never signed again and must not hold its class back)."""


def awaiting_review(states: Iterable[RecordState]) -> Counter[str]:
    """How many records of a class wait, per state (named), before the principal may approve it."""
    return Counter(RECORDS.label(state) for state in states if state not in APPROVABLE)


def new_edition(record: YearRecord, reason: str) -> None:
    """Returned with a reason (given back, reopened, corrected): signed again from step 2, as a new
    edition once the current one carries a signature."""
    if record.edition_signed:
        record.edition += 1
    record.edition_signed = False
    record.request_id = None  # a reply still in flight no longer counts
    record.returned_reason = reason
