"""The five things the board follows (Đ4.1): score entry, then the four signing steps (Đ8)."""

from __future__ import annotations

from enum import StrEnum

from hbs_grades.models import RecordState, SheetState
from hbs_shared.labels import RECORD_STATE_LABELS, SHEET_STATE_LABELS
from hbs_shared.roles import Role


class ProgressStep(StrEnum):
    score_entry = "score_entry"
    sheet_signing = "sheet_signing"
    homeroom = "homeroom"
    review = "review"
    approval = "approval"


STEP_TITLES: dict[ProgressStep, str] = {
    ProgressStep.score_entry: "Nhập điểm và nộp sổ điểm",
    ProgressStep.sheet_signing: "Bước 1: GV bộ môn ký sổ điểm",
    ProgressStep.homeroom: "Bước 2: GVCN ký học bạ",
    ProgressStep.review: "Bước 3: Phó Hiệu trưởng duyệt",
    ProgressStep.approval: "Bước 4: Hiệu trưởng phê duyệt",
}

SHEET_STEPS = (ProgressStep.score_entry, ProgressStep.sheet_signing)
"""Steps counted on score sheets, per semester; the others on year records, per year."""

DONE_SHEET_STATES: dict[ProgressStep, frozenset[str]] = {
    ProgressStep.score_entry: frozenset({SheetState.submitted, SheetState.signing, SheetState.signed}),
    ProgressStep.sheet_signing: frozenset({SheetState.signed}),
}
_AFTER_HOMEROOM = [
    RecordState.homeroom_signed,
    RecordState.signing_vice_principal,
    RecordState.reviewed,
    RecordState.signing_principal,
    RecordState.approved,
    RecordState.revoked,  # went through every step before the board annulled it: nothing outstanding
]
DONE_RECORD_STATES: dict[ProgressStep, frozenset[str]] = {
    ProgressStep.homeroom: frozenset(_AFTER_HOMEROOM),
    ProgressStep.review: frozenset(_AFTER_HOMEROOM[2:]),
    ProgressStep.approval: frozenset({RecordState.approved, RecordState.revoked}),
}

RESPONSIBLE_ROLE: dict[ProgressStep, Role] = {
    ProgressStep.score_entry: Role.subject_teacher,
    ProgressStep.sheet_signing: Role.subject_teacher,
    ProgressStep.homeroom: Role.homeroom_teacher,
    ProgressStep.review: Role.vice_principal,
    ProgressStep.approval: Role.principal,
}


def is_done(step: ProgressStep, state: str) -> bool:
    if step in SHEET_STEPS:
        return state in DONE_SHEET_STATES[step]
    return state in DONE_RECORD_STATES[step]


def state_label(step: ProgressStep, state: str) -> str:
    labels = SHEET_STATE_LABELS if step in SHEET_STEPS else RECORD_STATE_LABELS
    return labels.get(state, state)


def states_of(step: ProgressStep) -> list[str]:
    return list(SHEET_STATE_LABELS if step in SHEET_STEPS else RECORD_STATE_LABELS)
