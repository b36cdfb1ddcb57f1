"""Signature activation (Đ7.2, DESIGN.md Signing): a signing PIN unlocks one scope for minutes.

A login token alone never signs. The user sets a signing PIN (Argon2id); ``activate`` checks it
and returns an activation bound to that user, that scope (subject ids or a batch id) and a few
minutes. Five wrong PINs in a row lock it until an approved reset; every set, reset, lock and
wrong try is in the audit table. The consumer of a signing request checks the activation.

The two-person rule (docs/architecture.md): nobody resets a PIN here alone. Identity publishes
an approved reset of any factor of an account (password, TOTP, signing PIN); from then on the
owner must set a new PIN in their own session before signing, and activations made before the
reset no longer sign.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.events.identity import AccountFactorReset
from hbs_shared.logging import get_logger
from hbs_signing.models import Activation, PinAudit, SigningPin

log = get_logger(__name__)

MAX_WRONG_TRIES = 5
_PIN = re.compile(r"^\d{6,12}$")
_hasher = PasswordHasher()  # Argon2id with the library's current parameters


class ActivationError(Exception):
    """Why an activation or a PIN change was refused; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str, *, attempts_left: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.attempts_left = attempts_left


@dataclass(frozen=True)
class ActivationScope:
    subject_ids: frozenset[uuid.UUID]
    batch_id: uuid.UUID | None

    def covers(self, subject_id: uuid.UUID, batch_id: uuid.UUID | None) -> bool:
        return subject_id in self.subject_ids or (batch_id is not None and batch_id == self.batch_id)


def check_pin_format(pin: str) -> None:
    if not _PIN.match(pin):
        raise ActivationError("pin_format", "a signing PIN is 6 to 12 digits")


class ActivationService:
    def __init__(self, *, lifetime: timedelta) -> None:
        self.lifetime = lifetime

    async def _pin(self, session: AsyncSession, school_id: str, user_id: uuid.UUID) -> SigningPin | None:
        """The school's signer's PIN row: one another school holds under that id is not found."""
        result = await session.execute(
            select(SigningPin)
            .where(SigningPin.user_id == user_id, SigningPin.school_id == school_id)
            .with_for_update()
        )
        return result.scalar_one_or_none()

    async def _held_elsewhere(self, session: AsyncSession, school_id: str, user_id: uuid.UUID) -> bool:
        """Whether another school holds a PIN row under this id (the table's key is the user alone)."""
        held = await session.execute(select(SigningPin.school_id).where(SigningPin.user_id == user_id))
        found = held.scalar_one_or_none()
        return found is not None and found != school_id

    async def has_pin(self, session: AsyncSession, school_id: str, user_id: uuid.UUID) -> dict[str, object]:
        pin = await self._pin(session, school_id, user_id)
        return {
            "set": pin is not None and pin.pin_hash is not None,
            "locked": pin is not None and pin.locked_at is not None,
            "attempts_left": MAX_WRONG_TRIES - pin.failed_attempts if pin is not None else MAX_WRONG_TRIES,
            "reset_required": pin is not None and pin.reset_required,
        }

    async def set_pin(
        self,
        session: AsyncSession,
        school_id: str,
        user_id: uuid.UUID,
        new_pin: str,
        current_pin: str | None,
    ) -> None:
        """The user sets their own PIN; changing an existing one needs the current one, except
        after an approved reset (the owner, in their own session, sets a new one)."""
        check_pin_format(new_pin)
        if await self._held_elsewhere(session, school_id, user_id):
            raise ActivationError("other_school", "the account's signing PIN is held by another school")
        existing = await self._pin(session, school_id, user_id)
        now = datetime.now(UTC)
        if existing is not None and (existing.reset_required or existing.pin_hash is None):
            existing.pin_hash = await _hash(new_pin)
            existing.failed_attempts, existing.locked_at = 0, None
            existing.reset_required = False
            existing.updated_at = now
            action = "pin_set_after_reset"
        elif existing is not None:
            if current_pin is None:
                raise ActivationError("current_pin_required", "give the current signing PIN to change it")
            await self._verify(session, existing, current_pin, now)
            existing.pin_hash = await _hash(new_pin)
            existing.updated_at = now
            action = "pin_changed"
        else:
            session.add(
                SigningPin(
                    user_id=user_id,
                    school_id=school_id,
                    pin_hash=await _hash(new_pin),
                    failed_attempts=0,
                    locked_at=None,
                    updated_at=now,
                )
            )
            action = "pin_set"
        self._audit(session, school_id, user_id, user_id, action, "", now)

    async def on_factor_reset(self, session: AsyncSession, school_id: str, event: AccountFactorReset) -> None:
        """Identity approved a reset of one of the owner's factors (two people agreed): the owner
        must set a new PIN before signing; a `signing_pin` reset also forgets the PIN and its lock.
        Applied to the envelope's school only: another school's signer is never touched."""
        if await self._held_elsewhere(session, school_id, event.user_id):
            log.warning("factor reset names another school's signer", user_id=str(event.user_id))
            return
        pin = await self._pin(session, school_id, event.user_id)
        if pin is None:
            pin = SigningPin(
                user_id=event.user_id,
                school_id=school_id,
                pin_hash=None,
                failed_attempts=0,
                locked_at=None,
                updated_at=event.approved_at,
            )
            session.add(pin)
        pin.reset_required = True
        pin.reset_at = max(event.approved_at, pin.reset_at) if pin.reset_at is not None else event.approved_at
        if event.factor == "signing_pin":
            pin.pin_hash, pin.failed_attempts, pin.locked_at = None, 0, None
        action = "pin_reset" if event.factor == "signing_pin" else "reset_required"
        reason = f"{event.factor} reset {event.reset_id} requested by {event.requested_by}, approved"
        self._audit(session, school_id, event.user_id, event.approved_by, action, reason, datetime.now(UTC))

    async def activate(
        self,
        session: AsyncSession,
        school_id: str,
        user_id: uuid.UUID,
        pin: str,
        scope: ActivationScope,
    ) -> Activation:
        if not scope.subject_ids and scope.batch_id is None:
            raise ActivationError("empty_scope", "an activation needs subject ids or a batch id")
        existing = await self._pin(session, school_id, user_id)
        if existing is not None and existing.reset_required:
            raise ActivationError(
                "pin_reset_required", "the account was reset: set a new signing PIN before signing"
            )
        if existing is None or existing.pin_hash is None:
            raise ActivationError("no_pin", "set a signing PIN first")
        now = datetime.now(UTC)
        await self._verify(session, existing, pin, now)
        activation = Activation(
            id=uuid.uuid4(),
            school_id=school_id,
            user_id=user_id,
            subject_ids=sorted(str(s) for s in scope.subject_ids),
            batch_id=scope.batch_id,
            expires_at=now + self.lifetime,
            created_at=now,
        )
        session.add(activation)
        self._audit(session, school_id, user_id, user_id, "activated", str(activation.id), now)
        return activation

    async def _verify(self, session: AsyncSession, pin: SigningPin, given: str, now: datetime) -> None:
        if pin.locked_at is not None:
            raise ActivationError(
                "pin_locked", "the signing PIN is locked; ask for a signing PIN reset (two people approve it)"
            )
        if pin.pin_hash is not None and await _matches(pin.pin_hash, given):
            pin.failed_attempts = 0
            return
        pin.failed_attempts += 1
        self._audit(session, pin.school_id, pin.user_id, pin.user_id, "wrong_pin", "", now)
        if pin.failed_attempts >= MAX_WRONG_TRIES:
            pin.locked_at = now
            self._audit(session, pin.school_id, pin.user_id, pin.user_id, "pin_locked", "", now)
            # The refusal must be committed (the caller's transaction commits on ActivationError).
            raise ActivationError("pin_locked", "wrong signing PIN; it is now locked", attempts_left=0)
        raise ActivationError(
            "wrong_pin", "wrong signing PIN", attempts_left=MAX_WRONG_TRIES - pin.failed_attempts
        )

    def _audit(
        self,
        session: AsyncSession,
        school_id: str,
        user_id: uuid.UUID,
        actor: uuid.UUID,
        action: str,
        reason: str,
        at: datetime,
    ) -> None:
        session.add(
            PinAudit(
                school_id=school_id, user_id=user_id, actor_user_id=actor, action=action, reason=reason, at=at
            )
        )

    async def audit_of(self, session: AsyncSession, school_id: str, user_id: uuid.UUID) -> list[PinAudit]:
        result = await session.execute(
            select(PinAudit)
            .where(PinAudit.school_id == school_id, PinAudit.user_id == user_id)
            .order_by(PinAudit.at)
        )
        return list(result.scalars())

    async def check(
        self,
        session: AsyncSession,
        *,
        activation_id: uuid.UUID,
        school_id: str,
        signer_user_id: uuid.UUID,
        subject_id: uuid.UUID,
        batch_id: uuid.UUID | None,
        requested_at: datetime,
    ) -> None:
        """Refuse (ActivationError) unless the activation is this signer's, for this scope, in time.

        The activation and its signer's PIN are read once per session: a batch run checks its
        up to 256 requests on one reading session, all under one activation."""
        activation, owner = await self._rows(session, activation_id, school_id, signer_user_id)
        if activation is None:
            raise ActivationError("activation_unknown", "signature activation not found")
        if activation.user_id != signer_user_id:
            raise ActivationError("activation_other_user", "the signature activation belongs to another user")
        scope = ActivationScope(frozenset(uuid.UUID(s) for s in activation.subject_ids), activation.batch_id)
        if not scope.covers(subject_id, batch_id):
            raise ActivationError("activation_scope", "the signature activation does not cover this document")
        if owner is not None and (
            owner.reset_required or (owner.reset_at is not None and activation.created_at <= owner.reset_at)
        ):
            raise ActivationError(
                "activation_before_reset",
                "the signer's account was reset after this signature activation; a new PIN is needed",
            )
        expires_at = activation.expires_at
        if requested_at > expires_at or requested_at < activation.created_at - timedelta(minutes=1):
            raise ActivationError(
                "activation_expired", "the signature activation had expired when signing was requested"
            )

    async def _rows(
        self, session: AsyncSession, activation_id: uuid.UUID, school_id: str, signer_user_id: uuid.UUID
    ) -> tuple[Activation | None, SigningPin | None]:
        known: dict[tuple[uuid.UUID, str, uuid.UUID], tuple[Activation | None, SigningPin | None]]
        known = session.info.setdefault("activations.checked", {})
        key = (activation_id, school_id, signer_user_id)
        if key not in known:
            activation = (
                await session.execute(
                    select(Activation).where(
                        Activation.id == activation_id, Activation.school_id == school_id
                    )
                )
            ).scalar_one_or_none()
            owner = (
                await session.execute(
                    select(SigningPin).where(
                        SigningPin.user_id == signer_user_id, SigningPin.school_id == school_id
                    )
                )
            ).scalar_one_or_none()
            known[key] = (activation, owner)
        return known[key]


async def _hash(pin: str) -> str:
    # Argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, pin)


async def _matches(pin_hash: str, given: str) -> bool:
    def verify() -> bool:
        try:
            return bool(_hasher.verify(pin_hash, given))
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)
