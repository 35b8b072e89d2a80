"""Load and validate the flow files; every problem is reported as `file.yaml:LINE: message`.

The top of the definition wing: the checker reads the folder, this raises what it found. The
model of a flow lives in `flows.definition.flow`; its names are offered here too, since most
callers load flows and use them together.
"""

from __future__ import annotations

from pathlib import Path

from flows.definition.checker import Checker
from flows.definition.conditions import Conditions, conditions_hold
from flows.definition.flow import REMEDIES, Flow, FlowSet, Option, Route, Step
from flows.errors import FlowError

__all__ = [
    "DEFINITIONS",
    "REMEDIES",
    "Conditions",
    "Flow",
    "FlowSet",
    "Option",
    "Route",
    "Step",
    "conditions_hold",
    "load_flows",
]

DEFINITIONS = Path(__file__).parent.parent / "definitions"  # flows/definitions/


def load_flows(directory: Path = DEFINITIONS) -> FlowSet:
    """Load every flow under `directory`; raise FlowError listing all problems found."""
    checker = Checker()
    flow_set = checker.load(directory)
    if checker.problems:
        raise FlowError(checker.problems)
    return flow_set
