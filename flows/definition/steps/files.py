"""The `files` step: screenshots, files and forwards, between `min` and `max` of them.

Storing what arrives (size and type checks, content hashes) is the conversation's
(`flows/conversation/evidence.py`): this kind hands attachments over and counts what is kept.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flows.definition.flow import Step
from flows.definition.problems import Problems
from flows.definition.steps.kind import Answer, Asked, Key, Moment, Refuse, StepKind, Taken
from flows.definition.texts import Catalog
from flows.definition.yamlfile import Mapping_


class FilesKind(StepKind):
    """A question answered by sending files; **done** when enough have come."""

    name = "files"
    keys = frozenset({"min", "max"})
    takes_files = True

    def read(self, raw: Mapping_, problems: Problems, where: str) -> dict[str, Any]:
        return {
            "min_files": problems.number(raw, "min", 0),
            "max_files": problems.number(raw, "max", 10),
        }

    def ask(self, step: Step, now: Moment) -> Asked:
        count = len(now.answers.get(step.id) or [])
        row = [Key(now.t("done"), "ok")] if count else []
        if count == 0 and step.min_files == 0:
            row.append(Key(now.t("skip"), "skip"))
        return Asked((tuple(row),) if row else (), self.skip_key(step, now))

    def skippable(self, step: Step) -> bool:
        return step.optional or step.min_files == 0

    def press(self, step: Step, verb: str, arg: str, now: Moment) -> Taken | None:
        if verb == "ok":
            kept = now.answers.get(step.id) or []
            if len(kept) < step.min_files:
                return Refuse(now.t("files_need_more", min=step.min_files))
            return Answer(kept or None)
        return super().press(step, verb, arg, now)

    def typed(self, step: Step, text: str, now: Moment) -> Taken:
        return Refuse(now.t("files_text_instead"))

    def show(self, step: Step, value: Any, lang: str, say: Catalog) -> str:
        return say("evidence_count", lang, count=len(value))

    def prefill(self, step: Step, given: Any, today: date) -> Any:
        if not isinstance(given, list):
            return None
        return list(given[: step.max_files]) or None


KIND = FilesKind()
