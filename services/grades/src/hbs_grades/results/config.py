"""The rules DOMAIN.md marks "(check)", and the few limits a school may need to set."""

from __future__ import annotations

from dataclasses import dataclass

from hbs_shared.curriculum import Assessment


@dataclass(frozen=True)
class RulesConfig:
    gdqpan_assessment: Assessment = Assessment.scored
    """Giáo dục quốc phòng và an ninh: scored by default (TT22 §2 marks it "(check)")."""
    max_absent_sessions: int = 45
    """Promotion: at most this many sessions (buổi) absent in the year, excused or not."""
    reexam_after_summer_training: bool = False
    """Whether a student whose year conduct was Chưa đạt may take the re-examination once summer
    conduct training has raised it to ≥ Đạt. By default eligibility is judged on the year
    conduct from the two semesters (both Chưa đạt: no re-examination)."""

    def assessment_of(self, subject_code: str, catalogue_assessment: Assessment) -> Assessment:
        if subject_code == "GDQPAN":
            return self.gdqpan_assessment
        return catalogue_assessment


DEFAULT_RULES = RulesConfig()
