"""The grades service's one wiring point: the use-case objects built from the settings.

`create_app` gets them through `Grades.build`; unit tests pass in in-memory repositories and
outbox to check the sheet workflow and its signing-reply handlers without a database or a broker
(Cosmic Python's `bootstrap()`), in addition to the real-database and real-broker tests.
"""

from __future__ import annotations

from typing import Any

from hbs_grades.compliance.service import ComplianceService
from hbs_grades.conduct.service import ConductService
from hbs_grades.family.service import FamilyService
from hbs_grades.national.service import NationalExports
from hbs_grades.plan.service import PlanService
from hbs_grades.progress.service import ProgressService
from hbs_grades.progress.window_deadlines import WindowDeadlines
from hbs_grades.records.corrections import RecordCorrections
from hbs_grades.records.handlers import RecordSigningReplies
from hbs_grades.records.revocations import RecordRevocations
from hbs_grades.records.service import YearRecordService
from hbs_grades.reminders.mailer import SmtpMailer
from hbs_grades.reminders.service import ReminderService
from hbs_grades.replies import SigningReplies
from hbs_grades.reports.service import ResultsService
from hbs_grades.review.samples import ReviewSamples
from hbs_grades.roster.service import RosterService
from hbs_grades.settings import GradesSettings
from hbs_grades.sheets.corrections import SheetCorrections
from hbs_grades.sheets.demo import DemoSheets
from hbs_grades.sheets.entry import SheetEntry
from hbs_grades.sheets.handlers import SheetSigningReplies
from hbs_grades.sheets.minutes import MinutesSigning, MinutesSigningReplies
from hbs_grades.sheets.reading import SheetReader
from hbs_grades.sheets.setup import SheetSetup
from hbs_grades.sheets.signing import SheetSigning
from hbs_grades.windows.service import WindowsService
from hbs_grades.wiring import Grades
from hbs_shared.school_facts import SchoolFactsStore


def bootstrap(
    settings: GradesSettings,
    *,
    sheets: Any = None,
    roster: Any = None,
    outbox: Any = None,
    school: SchoolFactsStore | None = None,
) -> Grades:
    """`sheets`, `roster`, `outbox`: repositories with the real ones' methods (the real ones when
    None); `school`: the school's facts, learnt from identity's events unless given."""
    rules = settings.rules()
    plan = PlanService(rules=rules)
    school = school or SchoolFactsStore()
    reader = SheetReader(sheets, roster)
    setup = SheetSetup(sheets, plan)
    results = ResultsService(rules)
    windows = WindowsService()
    records = YearRecordService(results, school, windows)
    progress = ProgressService(WindowDeadlines(windows), clock=lambda: windows.clock())
    return Grades(
        settings,
        rules,
        school,
        plan,
        reader,
        setup,
        SheetEntry(reader, sheets),
        SheetSigning(reader, outbox, school=school),
        DemoSheets(setup, sheets, roster),
        RosterService(setup, roster),
        ConductService(),
        results,
        FamilyService(rules),
        records,
        SheetCorrections(reader, records),
        RecordCorrections(records),
        SigningReplies(SheetSigningReplies(sheets), RecordSigningReplies(), MinutesSigningReplies(), windows),
        MinutesSigning(reader, outbox, school=school),
        ReviewSamples(records),
        progress,
        ReminderService(
            progress,
            SmtpMailer.from_settings(settings),
            settings.reminder_days_before,
            clock=lambda: windows.clock(),
        ),
        NationalExports(records),
        windows=windows,
        compliance=ComplianceService(windows.clock),
        record_revocations=RecordRevocations(records, outbox),
    )
