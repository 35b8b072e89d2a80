"""Flows as `transitions` state machines: one machine per flow, a throwaway cursor per message."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from transitions.extensions.asyncio import AsyncMachine

from flows.definition.schema import Flow, Route

FILED = "filed"
CANCELLED = "cancelled"


@dataclass(slots=True)
class Cursor:
    """The per-message model a machine moves: a state name and the answers conditions read."""

    state: str
    answers: Mapping[str, Any] = field(default_factory=dict)


def _condition(route: Route) -> Callable[[Any], bool]:
    def check(event: Any) -> bool:
        return route.matches(event.model.answers)

    # transitions names a condition by its __name__ in diagrams; make that the readable rule.
    check.__name__ = route.describe()
    return check


def transitions_of(flow: Flow) -> list[dict[str, Any]]:
    """Return the flow's transitions as `transitions` expects them (conditions are callables)."""
    result: list[dict[str, Any]] = []
    confirm = flow.confirm_step
    for step in flow.steps.values():
        for route in step.routes:
            conditions = [_condition(route)] if route.when else []
            result.append(
                {"trigger": "next", "source": step.id, "dest": route.to, "conditions": conditions}
            )
        if step.id != confirm:
            result.append({"trigger": f"edit_{step.id}", "source": confirm, "dest": step.id})
    result.append({"trigger": "confirm", "source": confirm, "dest": FILED})
    result.append({"trigger": "cancel", "source": list(flow.steps), "dest": CANCELLED})
    return result


def states_of(flow: Flow) -> list[str]:
    """Return the machine's states: every step, then the two ends."""
    return [*flow.steps, FILED, CANCELLED]


class FlowMachine:
    """The machine of one flow, built once and shared by every conversation on it."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self._machine = AsyncMachine(
            model=None,
            states=states_of(flow),
            transitions=transitions_of(flow),
            initial=flow.first,
            auto_transitions=False,
            send_event=True,
        )

    async def fire(self, trigger: str, state: str, answers: Mapping[str, Any]) -> str | None:
        """Fire `trigger` from `state`; return the new state, or None if no transition applies."""
        event = self._machine.events.get(trigger)
        if event is None:
            return None
        cursor = Cursor(state, answers)
        moved = await event.trigger(cursor)
        return cursor.state if moved else None

    def next_step(self, state: str, answers: Mapping[str, Any]) -> str | None:
        """Return where `next` leads from `state`, without firing (for progress counting)."""
        step = self.flow.steps.get(state)
        if step is None:
            return None
        return next((r.to for r in step.routes if r.matches(answers)), None)

    def remaining(self, state: str, answers: Mapping[str, Any]) -> int:
        """Count the questions from `state` (included) to the summary on the current answers."""
        count = 0
        seen: set[str] = set()
        current: str | None = state
        while current is not None and current not in seen:
            seen.add(current)
            step = self.flow.steps[current]
            if step.expect == "confirm":
                break
            count += 1
            current = self.next_step(current, answers)
        return count
