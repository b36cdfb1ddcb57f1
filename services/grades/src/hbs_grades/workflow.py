"""What score sheets and year records share: a table of moves, and the guard on signing replies."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

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
    refusal: Callable[[State, Action, str], Problem]
    """The 409 for a move not in the table, given the state, the action and the state's label."""

    def label(self, state: State) -> str:
        return self.labels[state]

    def accepts(self, state: State, action: Action) -> bool:
        return (state, action) in self.transitions

    def next(self, state: State, action: Action) -> State:
        try:
            return self.transitions[(state, action)]
        except KeyError:
            raise self.refusal(state, action, self.label(state)) from None


def reply_is_current(current_request: uuid.UUID | None, awaiting: bool, event: SigningReply) -> bool:
    """A reply counts only for the aggregate's current request while it awaits one; any other
    (superseded, unknown) is recorded by the inbox and has no effect."""
    if current_request == event.request_id and awaiting:
        return True
    log.warning("signing reply for no current request", request_id=str(event.request_id))
    return False
