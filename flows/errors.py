"""The project's error hierarchy; `flows` is the package every other one imports."""

from __future__ import annotations

from dataclasses import dataclass


class ComplaintBotError(Exception):
    """Base of every error the bot raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a flow file, with where it is."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FlowError(ComplaintBotError):
    """A flow file is broken; carries every problem found, each as `file.yaml:LINE: message`."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StorageError(ComplaintBotError):
    """The database or the evidence folder could not be read or written."""


class LetterError(ComplaintBotError):
    """A letter cannot be written for a case (a template failed on it); the case itself is fine."""


class AlreadyHandled(ComplaintBotError):
    """The message was delivered before and its effect is saved; this copy changes nothing."""
