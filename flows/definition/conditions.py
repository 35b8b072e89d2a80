"""Declarative conditions on earlier answers: `when: {problem: [spam, fraud]}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# A step id -> the option ids of which one must have been chosen there.
Conditions = Mapping[str, frozenset[str]]


def conditions_hold(when: Conditions, answers: Mapping[str, Any]) -> bool:
    """Return True when every key of `when` has one of its values among the answers."""
    for key, wanted in when.items():
        answer = answers.get(key)
        chosen = answer.get("selected", []) if isinstance(answer, Mapping) else [answer]
        if not wanted.intersection(c for c in chosen if isinstance(c, str)):
            return False
    return True


def conditions_of(when: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Return a `when:` mapping with every value as a set of option ids."""
    return {
        str(k): frozenset(str(x) for x in (v if isinstance(v, list) else [v]))
        for k, v in when.items()
    }
