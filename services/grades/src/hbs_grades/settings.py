"""Grades service settings (environment prefix HBS_GRADES_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hbs_grades.results import RulesConfig
from hbs_shared.curriculum import Assessment
from hbs_shared.settings import ServiceSettings


class GradesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HBS_GRADES_", extra="ignore")

    port: int = Field(default=8002, ge=1, le=65535)
    gdqpan_assessment: Assessment = Assessment.scored
    """TT22 "(check)": Giáo dục quốc phòng và an ninh scored (default) or comment-assessed."""
    max_absent_sessions: int = Field(default=45, ge=0, le=365)
    """Promotion: at most this many sessions absent in the year."""
    reexam_after_summer_training: bool = False
    """Re-examination eligibility judged after summer conduct training replaced the conduct."""

    def rules(self) -> RulesConfig:
        return RulesConfig(
            gdqpan_assessment=self.gdqpan_assessment,
            max_absent_sessions=self.max_absent_sessions,
            reexam_after_summer_training=self.reexam_after_summer_training,
        )
