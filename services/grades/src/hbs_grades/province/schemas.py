"""HTTP shapes of the province's progress: counts only, no person's name or id."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hbs_grades.province.repository import SchoolProgress


class SchoolProgressOut(BaseModel):
    school_id: str
    name: str
    school_year: str | None = Field(description="The school's current year; null while it has none")
    classes: int = Field(description="Classes with a student, a teacher or a score sheet this year")
    sheets: dict[str, int] = Field(description="Score sheets of the year by state (every state, zeros too)")
    records: dict[str, int] = Field(description="Year records (học bạ) of the year by state (every state)")

    @classmethod
    def of(cls, school: SchoolProgress) -> SchoolProgressOut:
        return cls(
            school_id=school.school_id,
            name=school.name,
            school_year=school.school_year,
            classes=school.classes,
            sheets=school.sheets,
            records=school.records,
        )


class ProvinceProgressOut(BaseModel):
    schools: list[SchoolProgressOut]
