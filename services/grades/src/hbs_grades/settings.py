"""Grades service settings (environment prefix HBS_GRADES_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hbs_shared.settings import ServiceSettings


class GradesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HBS_GRADES_", extra="ignore")

    port: int = Field(default=8002, ge=1, le=65535)
    school_year: str = Field(default="2026-2027", pattern=r"^\d{4}-\d{4}$")
    """The current school year (năm học)."""
    seed_demo: bool = False
    """Create the demo school's score sheets at start-up (refused in production)."""
