"""Grades service settings (environment prefix HBS_GRADES_)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
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

    smtp_host: str = Field(default="", max_length=253)
    """The board's reminders go out by e-mail only when this is set (else: in the portal only)."""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = Field(default="hbs@localhost", max_length=200)
    smtp_user: str = Field(default="", max_length=200)
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "ssl"] = "none"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    reminder_check_seconds: float = Field(default=600.0, ge=0, le=86400)
    """How often the automatic reminders before a closing date are looked for (0 = never)."""
    reminder_days_before: tuple[int, ...] = (3, 1)
    """Automatic reminders: this many days before a window closes, once each."""

    def rules(self) -> RulesConfig:
        return RulesConfig(
            gdqpan_assessment=self.gdqpan_assessment,
            max_absent_sessions=self.max_absent_sessions,
            reexam_after_summer_training=self.reexam_after_summer_training,
        )
