"""One request's unit of work: its transaction, who acts, the events and audit it records."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.audit import LAYOUT as AUDIT
from hbs_identity.school import facts as school_facts
from hbs_shared.audit.store import append
from hbs_shared.auth import Principal
from hbs_shared.events.envelope import EventPayload
from hbs_shared.messaging.outbox import OutboxRepository
from hbs_shared.roles import Role
from hbs_shared.service import ServiceRuntime, runtime_of


@dataclass(frozen=True)
class Actor:
    """Who does it: a signed-in person, or the system (seed, import of the school's own data)."""

    user_id: uuid.UUID | None
    name: str
    roles: frozenset[str] = frozenset()

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.user_id, principal.name, principal.roles)


SYSTEM = Actor(None, "hệ thống", frozenset({Role.system_admin}))


@dataclass
class Unit:
    session: AsyncSession
    school_id: str
    actor: Actor
    source: str | None = None
    emitted: int = 0
    pending: list[tuple[EventPayload, str]] = field(default_factory=list)

    async def emit(self, payload: EventPayload) -> None:
        """Record an event for the outbox; written, in order, before this transaction commits."""
        self.pending.append((payload, self.school_id))
        self.emitted += 1

    async def write_events(self) -> None:
        """All pending events in one multi-row INSERT, just before this transaction commits."""
        pending, self.pending = self.pending, []
        await OutboxRepository().add_many(self.session, pending)

    def audit(
        self,
        action: str,
        object_type: str | None = None,
        object_id: object | None = None,
        **detail: Any,
    ) -> None:
        """One entry of identity's hash-chained trail, written as this unit commits."""
        self.audit_in(self.school_id, action, object_type, object_id, **detail)

    def audit_in(
        self,
        school_id: str,
        action: str,
        object_type: str | None = None,
        object_id: object | None = None,
        **detail: Any,
    ) -> None:
        """The same, in another scope's part of the trail (the province's, for a school it made)."""
        append(
            self.session,
            AUDIT,
            school_id=school_id,
            actor_id=self.actor.user_id,
            actor_name=self.actor.name,
            action=action,
            subject_kind=object_type,
            subject_id=object_id,
            details=detail,
            extra={"source": self.source},
        )


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def publish_school_facts(unit: Unit, *, always: bool = False) -> None:
    """`identity.school.changed` when this unit changed the school, a year or its board."""
    if always or await school_facts.touched(unit.session):
        facts = await school_facts.school_facts(unit.session, unit.school_id)
        if facts is not None:
            await unit.emit(facts)


@asynccontextmanager
async def unit_of_work(
    runtime: ServiceRuntime, school_id: str, actor: Actor, source: str | None = None
) -> AsyncIterator[Unit]:
    """One transaction; nudges the outbox relay after a commit that recorded events."""
    async with runtime.db.transaction() as session:
        unit = Unit(session, school_id, actor, source)
        school_facts.watch(session)
        yield unit
        await publish_school_facts(unit)
        await unit.write_events()
    if unit.emitted:
        runtime.relay.nudge()


@asynccontextmanager
async def request_unit(request: Request, principal: Principal) -> AsyncIterator[Unit]:
    async with unit_of_work(
        runtime_of(request), principal.school_id, Actor.of(principal), client_address(request)
    ) as unit:
        yield unit
