"""The signing order of Điều 8: who signs at which step, and in which order a year record is signed.

Step 1: the subject teacher signs the score sheet. Steps 2–4 are the year record's signatures,
each added to the document the step before signed: the homeroom teacher (2), the vice-principal's
review (3), the principal's approval with the school seal (4). Grades opens a step only in this
order (`hbs_grades.records.workflow`); signing refuses a signature out of it.
"""

from __future__ import annotations

from hbs_shared.roles import Role

SIGNING_STEPS: dict[int, Role] = {
    1: Role.subject_teacher,
    2: Role.homeroom_teacher,
    3: Role.vice_principal,
    4: Role.principal,
}
"""Who signs at each step."""
SHEET_STEP = 1
RECORD_STEPS: tuple[int, ...] = (2, 3, 4)
RECORD_SIGNERS: tuple[Role, ...] = tuple(SIGNING_STEPS[step] for step in RECORD_STEPS)
"""A year record's signers in order: homeroom teacher, vice-principal, principal."""
RECORD_STEP_NAMES: dict[str, int] = {"homeroom": 2, "vice_principal": 3, "principal": 4}
"""The year record's steps by the names grades' API and the portal's forms use."""
SEALED_WITH = Role.principal
"""The school seal is applied with this signature, the last: a sealed record takes no other."""


def step_of(role: str) -> int:
    """The step at which `role` signs; a ValueError for a role that signs at no step."""
    for step, signer in SIGNING_STEPS.items():
        if signer == role:
            return step
    raise ValueError(f"{role!r} signs at no step of Điều 8")


def signatures_before(role: str) -> int:
    """How many signatures a year record carries when `role` signs it (0 for the homeroom teacher);
    a ValueError for a role that does not sign a year record."""
    if role not in RECORD_SIGNERS:
        raise ValueError(f"{role!r} does not sign a year record (the seal comes with the principal)")
    return RECORD_SIGNERS.index(Role(role))
