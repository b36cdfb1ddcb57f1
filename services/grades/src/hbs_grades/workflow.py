"""What score sheets and year records share: a table of moves, the 409s of their states and
versions, and the common path of signing's replies."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.events.contracts import SigningCompleted, SigningFailed
from hbs_shared.logging import get_logger
from hbs_shared.problems import Problem

log = get_logger(__name__)

SigningReply = SigningCompleted | SigningFailed
State = TypeVar("State", bound=StrEnum)
Action = TypeVar("Action", bound=StrEnum)


@dataclass(frozen=True)
class StateMachine(Generic[State, Action]):
    """The only moves between an aggregate's states; any other is a 409 naming the state."""

    transitions: Mapping[tuple[State, Action], State]
    labels: Mapping[State, str]
    title: str
    """The 409's title for a move not in the table; `{label}` is the state's Vietnamese name."""
    detail: str
    """Its detail: `{action}`, `{state}` and `{label}` are filled in."""

    def label(self, state: State) -> str:
        return self.labels[state]

    def accepts(self, state: State, action: Action) -> bool:
        return (state, action) in self.transitions

    def next(self, state: State, action: Action) -> State:
        try:
            return self.transitions[(state, action)]
        except KeyError:
            label = self.label(state)
            detail = self.detail.format(action=action.value, state=state.value, label=label)
            raise wrong_state(self.title.format(label=label), detail) from None


def signing_step(
    ready: State, request: Action, signing: State, signed: State, *, completed: Action, failed: Action
) -> dict[tuple[State, Action], State]:
    """Asking for a signature moves `ready` to `signing`; signing's reply moves it on to `signed`,
    or back to `ready` when it failed (the reason is kept)."""
    return {(ready, request): signing, (signing, completed): signed, (signing, failed): ready}


def wrong_state(title: str, detail: str) -> Problem:
    """A 409 on the field `state`: the aggregate is not where this move starts."""
    return Problem(409, title, detail, field="state")


def stale_version(title: str, field: str, expected: int, current: int) -> Problem:
    """Someone changed it since the caller read it: a 409 naming the field and the current version."""
    return Problem(
        409,
        title,
        f"expected version {expected}, current version {current}",
        field=field,
        extra={"current_version": current},
    )


Aggregate = TypeVar("Aggregate")


class SigningReplyHandler(ABC, Generic[Aggregate]):
    """A reply counts only for the aggregate's current request while it awaits one; any other
    (superseded, unknown, another school's) is recorded by the inbox and has no effect. The school
    is the reply's envelope's: a subject of another school is not found."""

    @abstractmethod
    async def awaiting(self, session: AsyncSession, school_id: str, event: SigningReply) -> Aggregate | None:
        """The school's subject of the reply, if its current request is this one and it is being signed."""

    @abstractmethod
    async def signed(self, session: AsyncSession, aggregate: Aggregate, event: SigningCompleted) -> None: ...

    @abstractmethod
    async def failed(self, session: AsyncSession, aggregate: Aggregate, event: SigningFailed) -> None: ...

    async def on_completed(self, session: AsyncSession, school_id: str, event: SigningCompleted) -> bool:
        """Whether the reply was for the current request (and so applied)."""
        if (aggregate := await self._current(session, school_id, event)) is None:
            return False
        await self.signed(session, aggregate, event)
        return True

    async def on_failed(self, session: AsyncSession, school_id: str, event: SigningFailed) -> None:
        if (aggregate := await self._current(session, school_id, event)) is not None:
            await self.failed(session, aggregate, event)

    async def _current(self, session: AsyncSession, school_id: str, event: SigningReply) -> Aggregate | None:
        aggregate = await self.awaiting(session, school_id, event)
        if aggregate is None:
            log.warning("signing reply for no current request", request_id=str(event.request_id))
        return aggregate
