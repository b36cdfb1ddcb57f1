"""Who someone is to the system: the one list of roles, their Vietnamese names and their groups.

Identity grants the account roles; grades, signing and the portal only read them from the
access token. `seal` is no account's role: it is the school seal's signature, made with the
principal's (Đ8 Step 4), and appears only where signatures are listed.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    principal = "principal"
    vice_principal = "vice_principal"
    subject_teacher = "subject_teacher"
    homeroom_teacher = "homeroom_teacher"
    office_admin = "office_admin"
    system_admin = "system_admin"
    parent = "parent"
    student = "student"
    seal = "seal"
    """The school seal's signature (not an account role)."""
    province_admin = "province_admin"
    """Sở GD&ĐT: creates the province's schools and their first administrator; sees no one's data."""
    province_officer = "province_officer"
    """Sở GD&ĐT: reads each school's progress as counts; sees no one's data."""

    @property
    def label(self) -> str:
        """The name on screens and in imports: "Phó hiệu trưởng"."""
        return ROLE_LABELS[self]

    @property
    def formal_label(self) -> str:
        """The name on signed documents and signatures: "Phó Hiệu trưởng"."""
        return ROLE_TITLES[self]


ROLE_LABELS: dict[Role, str] = {
    Role.principal: "Hiệu trưởng",
    Role.vice_principal: "Phó hiệu trưởng",
    Role.subject_teacher: "Giáo viên bộ môn",
    Role.homeroom_teacher: "Giáo viên chủ nhiệm",
    Role.office_admin: "Văn phòng",
    Role.system_admin: "Quản trị hệ thống",
    Role.parent: "Phụ huynh",
    Role.student: "Học sinh",
    Role.seal: "Dấu của nhà trường",
    Role.province_admin: "Quản trị Sở GD&ĐT",
    Role.province_officer: "Chuyên viên Sở GD&ĐT",
}
ROLE_TITLES: dict[Role, str] = {**ROLE_LABELS, Role.vice_principal: "Phó Hiệu trưởng"}

SIGNERS = frozenset({Role.subject_teacher, Role.homeroom_teacher, Role.vice_principal, Role.principal})
"""The people who sign sheets and records (Đ8 Steps 1–4)."""
TEACHERS = frozenset({Role.subject_teacher, Role.homeroom_teacher})
"""The teaching assignments a class has: a subject teacher per subject, one homeroom teacher."""
BOARD = frozenset({Role.principal, Role.vice_principal})
"""The school's board (Ban giám hiệu): statistics, corrections (Đ9)."""
OFFICE = frozenset({Role.office_admin, Role.system_admin})
"""Who administers the school's people, classes and data."""
OVERSEERS = BOARD | OFFICE
"""Who reads all of the school: every sheet, record and signed document."""
FAMILY = frozenset({Role.parent, Role.student})
"""Who sees only their own (or their child's) results."""
STAFF = SIGNERS | OFFICE
"""Every staff role an account can hold."""
STAFF_ORDER: tuple[Role, ...] = tuple(role for role in Role if role in STAFF)
"""The staff roles in the order screens and imports list them (the principal first)."""
PROVINCE = frozenset({Role.province_admin, Role.province_officer})
"""The province's own people (Sở GD&ĐT): their accounts belong to no school (their token's
`school_id` is the province's scope, PROVINCE_SCOPE in hbs_shared.schools), so every school's
endpoints refuse them; they read only the aggregate progress across schools."""
SIGNATURE_ROLES = SIGNERS | {Role.seal}
"""Every role a signature or certificate can carry."""
