"""The grades service's one wiring point: the use-case objects built from the settings.

`create_app` gets them through `Grades.build`; unit tests pass in in-memory repositories and
outbox to check the sheet workflow and its signing-reply handlers without a database or a broker
(Cosmic Python's `bootstrap()`), in addition to the real-database and real-broker tests.
"""

from __future__ import annotations

from typing import Any

from hbs_grades.conduct.service import ConductService
from hbs_grades.family.service import FamilyService
from hbs_grades.plan.service import PlanService
from hbs_grades.records.corrections import CorrectionService
from hbs_grades.records.service import YearRecordService
from hbs_grades.reports.service import ResultsService
from hbs_grades.roster.service import RosterService
from hbs_grades.settings import GradesSettings
from hbs_grades.sheets.service import ScoreSheetService
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
    sheet_service = ScoreSheetService(sheets, outbox, roster, plan, school=school)
    results = ResultsService(rules)
    records = YearRecordService(results, school)
    return Grades(
        settings,
        rules,
        school,
        plan,
        sheet_service,
        RosterService(sheet_service, roster),
        ConductService(),
        results,
        FamilyService(rules),
        records,
        CorrectionService(sheet_service, records),
    )
