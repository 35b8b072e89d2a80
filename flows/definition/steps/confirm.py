"""The `confirm` step: the summary of every answer, to edit any of them, file or cancel."""

from __future__ import annotations

from flows.definition.flow import Step
from flows.definition.steps.kind import Hand, Moment, StepKind, Taken


class ConfirmKind(StepKind):
    """The last step of a flow; the conversation draws it as the summary."""

    name = "confirm"
    final = True

    def press(self, step: Step, verb: str, arg: str, now: Moment) -> Taken | None:
        if verb == "file":
            return Hand("file")
        if verb == "edit":
            return Hand("edit", arg)
        return super().press(step, verb, arg, now)


KIND = ConfirmKind()
