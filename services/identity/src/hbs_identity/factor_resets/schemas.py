"""HTTP shapes of factor resets (yêu cầu đặt lại) and the owner's security notices."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hbs_identity.school.schemas import Text

Factor = Literal["password", "totp", "signing_pin"]
State = Literal["pending", "approved", "rejected"]


class FactorResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    factor: Factor
    reason: Text = Field(min_length=5, max_length=500)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(min_length=5, max_length=500)


class FactorResetOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    user_name: str
    factor: Factor
    reason: str
    state: State
    requested_by: uuid.UUID
    requested_by_name: str
    requested_at: datetime
    decided_by: uuid.UUID | None
    decided_by_name: str | None
    decided_at: datetime | None
    decision_reason: str | None
    initial_password: str | None = None
    """Only in the answer to approving a password reset: shown once, to the approving board member."""


class SecurityNotice(BaseModel):
    """An approved reset of one of the caller's own factors, shown until they acknowledge it."""

    reset_id: uuid.UUID
    factor: Factor
    requested_by_name: str
    approved_by_name: str
    approved_at: datetime
