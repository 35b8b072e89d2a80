"""Draw a flow as a mermaid state diagram, through transitions' own mermaid graph engine."""

from __future__ import annotations

from transitions.extensions import GraphMachine

from flows.definition.machine import states_of, transitions_of
from flows.definition.schema import Flow


class _Model:
    """The model GraphMachine draws for; it never moves."""


def mermaid(flow: Flow) -> str:
    """Return the mermaid `stateDiagram-v2` source of `flow`."""
    model = _Model()
    GraphMachine(
        model=model,
        states=states_of(flow),
        transitions=transitions_of(flow),
        initial=flow.first,
        auto_transitions=False,
        graph_engine="mermaid",
        title=flow.ref,
        show_conditions=True,
    )
    return str(model.get_graph().draw(None))  # type: ignore[attr-defined]
