"""The class whose year records are sealed, shared by the modules that need one (tests/conftest.py
`sealed`): sealing a class through the whole stack is one of the suite's longest set-ups. The root
conftest.py's MODULE_GROUPS sends those modules to one test process, which seals it once."""

from __future__ import annotations

from dataclasses import dataclass

from hbs_devtools.yearend import Invariants, School, YearEndDriver, YearEndReport


@dataclass(frozen=True)
class SealedClass:
    """One class of four students through steps 1–4 by the year-end driver (hbs_devtools.yearend),
    its report and invariants taken at once, before any module changes it. The modules use apart
    students: `exchanged` leave the class with their packages (test_exchange), `kept` stay
    (test_revocation revokes the first one's record; test_backup restores both)."""

    driver: YearEndDriver
    school: School
    report: YearEndReport
    invariants: Invariants

    @property
    def name(self) -> str:
        return self.school.classes[0].name

    @property
    def exchanged(self) -> list[str]:
        return self.school.classes[0].student_ids[:2]

    @property
    def kept(self) -> list[str]:
        return self.school.classes[0].student_ids[2:]
