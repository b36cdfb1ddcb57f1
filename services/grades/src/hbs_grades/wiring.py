"""The use-case objects of one app, built once from the settings (the service's bootstrap)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import Request

from hbs_grades.compliance.service import ComplianceService
from hbs_grades.conduct.service import ConductService
from hbs_grades.family.service import FamilyService
from hbs_grades.national.service import NationalExports
from hbs_grades.plan.service import PlanService
from hbs_grades.progress.service import ProgressService
from hbs_grades.records.corrections import RecordCorrections
from hbs_grades.records.revocations import RecordRevocations
from hbs_grades.records.service import YearRecordService
from hbs_grades.reminders.service import ReminderService
from hbs_grades.replies import SigningReplies
from hbs_grades.reports.service import ResultsService
from hbs_grades.results import RulesConfig
from hbs_grades.review.samples import ReviewSamples
from hbs_grades.roster.service import RosterService
from hbs_grades.settings import GradesSettings
from hbs_grades.sheets.corrections import SheetCorrections
from hbs_grades.sheets.demo import DemoSheets
from hbs_grades.sheets.entry import SheetEntry
from hbs_grades.sheets.minutes import MinutesSigning
from hbs_grades.sheets.reading import SheetReader
from hbs_grades.sheets.setup import SheetSetup
from hbs_grades.sheets.signing import SheetSigning
from hbs_grades.windows.service import WindowsService
from hbs_shared.school_facts import SchoolFactsStore


@dataclass(frozen=True)
class Grades:
    settings: GradesSettings
    rules: RulesConfig
    school: SchoolFactsStore
    """The school's facts (name, province, principal, current year) from identity's events."""
    plan: PlanService
    sheets: SheetReader
    sheet_setup: SheetSetup
    sheet_entry: SheetEntry
    sheet_signing: SheetSigning
    sheet_demo: DemoSheets
    roster: RosterService
    conduct: ConductService
    results: ResultsService
    family: FamilyService
    records: YearRecordService
    sheet_corrections: SheetCorrections
    record_corrections: RecordCorrections
    replies: SigningReplies
    sheet_minutes: MinutesSigning
    """The minutes of a sheet's correction, signed by the board member who opened it."""
    review: ReviewSamples
    progress: ProgressService
    """The board's progress view (Đ4.1); its deadlines come from the time windows."""
    reminders: ReminderService
    national: NationalExports
    """The school's sealed records for the national sector database (CSDL ngành)."""
    _gate: asyncio.Lock = field(default_factory=asyncio.Lock)
    windows: WindowsService = field(default_factory=WindowsService)
    """Time windows (Đ5): whether a step is open, extensions, the moments each step was done."""
    compliance: ComplianceService = field(default_factory=ComplianceService)
    """The compliance report (Đ10)."""
    record_revocations: RecordRevocations | None = None
    """Revocation of an approved record under minutes (thu hồi, Đ9); signing is told by an event."""

    @contextlib.asynccontextmanager
    async def writing(self, is_sqlite: bool) -> AsyncIterator[None]:
        """SQLite has one writer: saves in this process take turns here (in arrival order) rather
        than polling the file lock, whose busy handler sleeps in steps of up to 100 ms."""
        if not is_sqlite:
            yield
            return
        async with self._gate:
            yield

    @classmethod
    def build(cls, settings: GradesSettings) -> Grades:
        """The real wiring: see `hbs_grades.bootstrap`, the one place it is done."""
        from hbs_grades.bootstrap import bootstrap

        return bootstrap(settings)


def grades_of(request: Request) -> Grades:
    grades: Grades = request.app.state.grades
    return grades
