"""National exports (CSDL ngành): full, or the changes since a given export. Services never commit:
the endpoint does, once, and only after both forms of the document passed their schemas."""

from __future__ import annotations

import hashlib
import json
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.access import OVERSIGHT_ROLES
from hbs_grades.models import Student, YearRecord
from hbs_grades.national import document as national
from hbs_grades.national.models import NationalExport
from hbs_grades.national.repository import NationalExportRepository
from hbs_grades.national.validation import SchemaViolation, check_json, check_xml
from hbs_grades.records.service import YearRecordService
from hbs_grades.roster.repository import vietnamese_order
from hbs_shared.auth import Principal
from hbs_shared.logging import get_logger
from hbs_shared.problems import Problem
from hbs_shared.school_facts import SchoolFacts

log = get_logger(__name__)

Form = Literal["xml", "json"]

NOT_FOUND = Problem(404, "Không tìm thấy lần xuất dữ liệu", "no such national export", field="export_id")


def require_overseer(principal: Principal) -> None:
    """School-wide data: the board and the office (văn phòng, quản trị), as every school-wide read;
    or an outside system whose `national.export` scope the endpoint's dependency checked."""
    if principal.is_client and "national.export" in principal.scopes:
        return
    if not principal.has_role(*OVERSIGHT_ROLES):
        raise Problem(
            403,
            "Chỉ Ban Giám hiệu và văn phòng xuất được dữ liệu học bạ toàn trường",
            "the national export is for overseers (board, office) only",
            field="role",
        )


def refused(error: SchemaViolation) -> Problem:
    # Paths and rule names only: a value may be personal data.
    log.error("national export failed its own schema", form=error.form, errors=error.errors[:5])
    return Problem(
        500,
        "Dữ liệu xuất không đúng lược đồ nên không được gửi; xin báo quản trị hệ thống",
        f"the {error.form} document does not validate against its schema: " + "; ".join(error.errors[:5]),
        field="document",
    )


def serve(doc: dict[str, Any], form: Form) -> bytes:
    """The document in one form, checked against that form's schema; never returned unchecked."""
    try:
        if form == "json":
            check_json(doc)
            return national.to_json(doc)
        data = national.to_xml(doc)
        check_xml(data)
        return data
    except SchemaViolation as error:
        raise refused(error) from None


@dataclass(frozen=True)
class StudentNow:
    student: Student
    element: dict[str, Any]
    fingerprint: str


class NationalExports:
    def __init__(
        self, records: YearRecordService, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.records = records
        """Computes each sealed record's content exactly as it is assembled for signing."""
        self.clock = clock
        self.repo = NationalExportRepository()

    async def _now(self, session: AsyncSession, school: SchoolFacts) -> list[StudentNow]:
        """Every student with a sealed year record, with their element as the sector receives it."""
        sealed = await self.repo.sealed_records(session, school.school_id)
        people = await self.repo.students(session, sorted({r.student_id for r in sealed}))
        levels = await self.repo.grade_levels(session, school.school_id)
        by_class: dict[tuple[str, str], list[YearRecord]] = {}
        for record in sealed:
            if record.student_id in people:
                by_class.setdefault((record.school_year, record.class_name), []).append(record)
        years: dict[uuid.UUID, list[national.SealedYear]] = {}
        for (school_year, class_name), records in sorted(by_class.items()):
            # Per class, as the year end does: results computed once for the class's sealed records,
            # their students whether or not still enrolled.
            students = sorted((people[r.student_id] for r in records), key=vietnamese_order)
            contents = await self.records.contents(
                session, school.school_id, school_year, class_name, records, students=students, school=school
            )
            for record in records:
                content = contents.get(record.id)
                if content is None or record.document_id is None or record.document_sha256 is None:
                    continue
                years.setdefault(record.student_id, []).append(
                    national.SealedYear(
                        content=content,
                        grade_level=levels.get((school_year, class_name)),
                        edition=record.edition,
                        document_id=record.document_id,
                        document_sha256=record.document_sha256,
                    )
                )
        out: list[StudentNow] = []
        for student_id, student_years in years.items():
            element = national.student_element(student_years)
            out.append(StudentNow(people[student_id], element, national.fingerprint(element)))

        def order(s: StudentNow) -> tuple[str, str, tuple[bytes, bytes]]:
            newest = s.element["cacnamhoc"][-1]
            return (newest["namhoc"], newest["lop"], vietnamese_order(s.student))

        return sorted(out, key=order)

    async def create(
        self, session: AsyncSession, principal: Principal, since: uuid.UUID | Literal["last"] | None
    ) -> NationalExport:
        """A full export (`since` None) or the students whose data changed since the given export
        (or the school's latest), checked in both forms against their schemas, then recorded."""
        require_overseer(principal)
        base: NationalExport | None = None
        if since == "last":
            base = await self.repo.latest(session, principal.school_id)
            if base is None:
                raise Problem(
                    409,
                    "Chưa có lần xuất nào trước đó: hãy xuất toàn bộ",
                    "no earlier export of this school",
                    field="since",
                )
        elif since is not None:
            base = await self.repo.get(session, principal.school_id, since)
            if base is None:
                raise Problem(404, "Không tìm thấy lần xuất đã chọn", "no such export", field="since")
        school = await self.records.school.require(session, principal.school_id)
        school.require_province()
        now = await self._now(session, school)
        if base is None:
            carried, withdrawn = now, []
        else:
            before = await self.repo.items(session, base.id)
            carried = [s for s in now if before.get(s.student.id, ("", ""))[1] != s.fingerprint]
            present = {s.student.id for s in now}
            withdrawn = sorted(code for student, (code, _) in before.items() if student not in present)
        header = national.ExportHeader(
            export_id=uuid.uuid4(),
            kind="toanbo" if base is None else "thaydoi",
            since=base.id if base else None,
            at=self.clock(),
            by_name=principal.name,
        )
        doc = national.document(header, school, [s.element for s in carried], withdrawn)
        as_json = serve(doc, "json")
        serve(doc, "xml")
        export = NationalExport(
            id=header.export_id,
            school_id=principal.school_id,
            kind=header.kind,
            since_id=header.since,
            created_at=header.at,
            created_by=principal.user_id,
            created_by_name=principal.name,
            students=len(carried),
            withdrawn=len(withdrawn),
            sha256=hashlib.sha256(as_json).hexdigest(),
            document=zlib.compress(as_json, 6),
        )
        await self.repo.add(
            session, export, [(s.student.id, s.student.national_id, s.fingerprint) for s in now]
        )
        await audit.record(
            session,
            school_id=principal.school_id,
            actor=principal,
            action=audit.AuditAction.export,
            subject=("national_export", export.id),
            details={
                "what": "Dữ liệu học bạ cho CSDL ngành",
                "kind": header.kind,
                "since": str(header.since) if header.since else None,
                "students": export.students,
                "withdrawn": export.withdrawn,
            },
        )
        log.info("national export made", export_id=str(export.id), kind=header.kind, students=export.students)
        return export

    async def listing(self, session: AsyncSession, principal: Principal, limit: int) -> list[NationalExport]:
        require_overseer(principal)
        return await self.repo.listing(session, principal.school_id, limit)

    async def get(self, session: AsyncSession, principal: Principal, export_id: uuid.UUID) -> NationalExport:
        require_overseer(principal)
        export = await self.repo.get(session, principal.school_id, export_id)
        if export is None:
            raise NOT_FOUND
        return export

    async def download(
        self, session: AsyncSession, principal: Principal, export_id: uuid.UUID, form: Form
    ) -> tuple[NationalExport, bytes]:
        """One export again, in either form, checked against its schema before it is returned."""
        export = await self.get(session, principal, export_id)
        doc: dict[str, Any] = json.loads(zlib.decompress(export.document))
        return export, serve(doc, form)
