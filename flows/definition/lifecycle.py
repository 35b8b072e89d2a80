"""The life of a filed case as a `transitions` machine read from lifecycle.yaml.

The file declares the states and which trigger leads where; the engine supplies the facts the
conditions read (is there a next rung?) and does what a move means (deadlines, reminders).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from transitions import Machine

from flows.definition.texts import Texts

LIFECYCLE_FILE = "lifecycle.yaml"

# What can happen to a case; each must be declared in the file, since the engine fires them.
TRIGGERS = (
    "deadline_passed",  # the respondent's time is up (the scheduler)
    "snooze",  # "remind me in N days"
    "sent",  # "I sent it": the current respondent's clock starts now
    "resolved",
    "unsatisfied",  # answered, but not good enough: next rung
    "no_answer",  # next rung
    "close",
)


@dataclass(slots=True)
class CaseCursor:
    """The per-change model the machine moves, with the facts its conditions read."""

    state: str
    has_next_rung: bool = False
    at_first_rung: bool = True


CONDITIONS: Mapping[str, Callable[[CaseCursor], bool]] = {
    "has_next_rung": lambda cursor: cursor.has_next_rung,
    "at_first_rung": lambda cursor: cursor.at_first_rung,
}


@dataclass(frozen=True, slots=True)
class Move:
    """One declared transition of the lifecycle."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    conditions: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The lifecycle file: state names per language and the declared moves."""

    initial: str
    states: Mapping[str, Texts]
    moves: tuple[Move, ...]
    file: str = LIFECYCLE_FILE

    def sources(self, trigger: str) -> frozenset[str]:
        """Return the states from which `trigger` can move a case."""
        return frozenset(s for m in self.moves if m.trigger == trigger for s in m.sources)

    @property
    def open_states(self) -> frozenset[str]:
        """Return the states a case can still move out of."""
        return frozenset(s for m in self.moves for s in m.sources)


def _condition(name: str) -> Callable[[Any], bool]:
    check = CONDITIONS[name]

    def run(event: Any) -> bool:
        return check(event.model)

    run.__name__ = name
    return run


def machine_transitions(lifecycle: Lifecycle) -> list[dict[str, Any]]:
    """Return the moves as `transitions` expects them (conditions are registry callables)."""
    return [
        {
            "trigger": move.trigger,
            "source": list(move.sources),
            "dest": move.dest,
            "conditions": [_condition(c) for c in move.conditions],
        }
        for move in lifecycle.moves
    ]


class CaseMachine:
    """The lifecycle machine, built once; a throwaway cursor per change."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self._machine = Machine(
            model=None,
            states=list(lifecycle.states),
            transitions=machine_transitions(lifecycle),
            initial=lifecycle.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=True,
        )

    def fire(
        self, trigger: str, state: str, *, has_next_rung: bool, at_first_rung: bool
    ) -> str | None:
        """Return the state `trigger` leads to from `state`, or None when it cannot fire there."""
        event = self._machine.events.get(trigger)
        if event is None or state not in self.lifecycle.states:
            return None
        cursor = CaseCursor(state, has_next_rung, at_first_rung)
        return cursor.state if event.trigger(cursor) else None
