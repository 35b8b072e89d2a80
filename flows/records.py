"""The records the engine and its ports exchange: people, conversations, cases, reminders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flows.model import ConversationKey, Document, Reply


@dataclass(frozen=True, slots=True)
class Profile:
    """What a person chose to put on their letters; never required, though regulators need it."""

    name: str | None = None
    phone: str | None = None
    asked: bool = False  # they have answered (or skipped) the question once
    address: str | None = None  # 12315 and 12300 require it (暂行办法 art. 9; 申诉办法 art. 12)
    postcode: str | None = None  # 12300 requires it (申诉办法 art. 12)

    def missing(self, fields: tuple[str, ...]) -> list[str]:
        """Return which of `fields` (name, phone, address, postcode) are not given."""
        return [f for f in fields if not getattr(self, f)]


@dataclass(slots=True)
class Conversation:
    """Where one person is: the flow and step they are on, and what they answered so far."""

    key: ConversationKey
    chat_id: str
    language: str
    flow_id: str | None = None
    flow_version: int | None = None
    state: str | None = None  # current step id; None when no intake is in progress
    answers: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)  # steps answered, in order, for "back"
    turn: int = 0  # bumped with every question asked, so old buttons can be told apart
    draft_id: str | None = None  # ties evidence uploaded during this intake to it
    pending: dict[str, Any] = field(default_factory=dict)  # scratch for the current step
    updated_at: datetime | None = None
    profile: Profile = field(default_factory=Profile)


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A file stored content-addressed under the data folder."""

    sha256: str
    path: str  # relative to the data folder
    size: int


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """One piece of evidence: a stored file, or a forwarded message's text."""

    draft_id: str
    step: str
    kind: str  # "photo" | "document" | "forward"
    sha256: str
    path: str
    size: int
    file_name: str | None = None
    mime_type: str | None = None
    file_id: str | None = None
    file_unique_id: str | None = None
    group_id: str | None = None
    text: str | None = None  # a forwarded message's text
    meta: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One line of a case's timeline."""

    kind: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewReminder:
    """A follow-up to send about a case when `due_at` has passed."""

    kind: str  # "deadline" (the respondent's time is up) | "snooze" (the person asked for it)
    due_at: datetime


@dataclass(frozen=True, slots=True)
class NewCase:
    """A confirmed intake, to be filed under a fresh case number."""

    category: str
    problem: str | None
    flow_id: str
    flow_version: int
    language: str
    answers: dict[str, Any]
    remedies: list[str]
    created_at: datetime
    state: str = "waiting"  # the lifecycle state it starts in
    rung: int = 0  # index into its flow's escalation ladder
    due_at: datetime | None = None  # when the current respondent's deadline passes
    reminder: NewReminder | None = None  # written with the case, in the same transaction


@dataclass(frozen=True, slots=True)
class Deliveries:
    """The ids a messenger gave the updates of one message; a redelivery carries the same ids."""

    messenger: str
    ids: tuple[str, ...]


@dataclass(slots=True)
class StepCommit:
    """Everything one step changes, written in one transaction before the reply goes out."""

    conversation: Conversation
    events: list[CaseEvent] = field(default_factory=list)  # tied to the draft (and its case)
    evidence: list[EvidenceRecord] = field(default_factory=list)
    new_case: NewCase | None = None
    discard_draft: str | None = None  # a draft id whose evidence and events are dropped
    deliveries: Deliveries | None = None  # recorded as handled in the same transaction


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """A line of `/cases`."""

    number: str
    category: str
    problem: str | None
    state: str
    created_at: datetime
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """A whole case, as its owner or an operator sees it."""

    number: str
    user: str  # "messenger:user_id"
    category: str
    problem: str | None
    state: str
    flow_id: str
    flow_version: int
    language: str
    answers: dict[str, Any]
    remedies: list[str]
    created_at: datetime
    updated_at: datetime
    evidence: list[EvidenceRecord] = field(default_factory=list)
    events: list[CaseEvent] = field(default_factory=list)
    rung: int = 0
    due_at: datetime | None = None
    rating: int | None = None  # 1-5, given when the person marked it resolved
    comment: str | None = None

    @property
    def flow(self) -> str:
        return f"{self.flow_id}@{self.flow_version}"


@dataclass(slots=True)
class CaseChange:
    """One lifecycle step of a filed case, written in one transaction.

    Only the fields that are not None change. The change applies only while the case's state is
    one of `expect_states` (when given), so a second press of the same button changes nothing.
    """

    number: str
    owner: ConversationKey | None  # None: the scheduler or an operator (no owner check)
    expect_states: frozenset[str] | None = None
    state: str | None = None
    rung: int | None = None
    due_at: datetime | None = None
    clear_due: bool = False  # set due_at to NULL (resolved, closed, ladder end)
    rating: int | None = None
    comment: str | None = None
    events: list[CaseEvent] = field(default_factory=list)
    cancel_reminders: bool = False  # drop the case's pending reminders first
    reminder: NewReminder | None = None  # then add this one
    deliveries: Deliveries | None = None  # recorded as handled if (and when) the change applies


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What forgetting a person deleted (or, before it is done, would delete)."""

    conversations: int
    cases: int
    evidence: int  # evidence rows: files and forwarded texts
    files: int  # evidence files no one else shares, removed from the data folder
    events: int
    reminders: int
    documents: int = 0  # letters and exports saved for them (the console saves them on disk)


@dataclass(frozen=True, slots=True)
class Reminder:
    """A pending follow-up, with what is needed to reach its case's owner."""

    id: int
    case_number: str
    key: ConversationKey
    chat_id: str
    language: str
    kind: str
    due_at: datetime
    attempts: int = 0
    unreachable: bool = False  # the owner blocked the bot (until they write again)


@dataclass(frozen=True, slots=True)
class ShortReport:
    """A ready-to-send one-line report: text `text` to `to`."""

    to: str
    text: str
    unconfirmed: str | None = None  # why the format may be wrong, when it is not confirmed


@dataclass(frozen=True, slots=True)
class Letter:
    """A complaint letter to one channel, as plain text (to paste) and as Markdown."""

    channel: str
    addressee: str
    text: str
    markdown: str
    file_stem: str  # e.g. "SMS-2026-0001-china_mobile-zh"
    short: ShortReport | None = None
    # One-line reports to the channels used at the same time (12321 beside the carrier).
    also_short: tuple[ShortReport, ...] = ()

    def documents(self) -> tuple[Document, Document]:
        """Return the letter as a .txt and a .md file."""
        return (
            Document(f"{self.file_stem}.txt", self.text.encode(), "text/plain"),
            Document(f"{self.file_stem}.md", self.markdown.encode(), "text/markdown"),
        )


@dataclass(frozen=True, slots=True)
class Explanation:
    """What the analyser says about one message, in the person's language."""

    verdict: str  # fraud | marketing | legit | unknown
    title: str  # e.g. "⚠️ 很可能是诈骗"
    reasons: tuple[str, ...]
    advice: tuple[str, ...]
    sender: str | None  # the SMS sender number it settled on, if any
    body: str = ""  # the message itself, without a sender line pasted above it


@dataclass(frozen=True, slots=True)
class Due:
    """A deadline worked out: the respondent's last day, and the moment it has passed."""

    day: date
    at: datetime


@dataclass(frozen=True, slots=True)
class Inbound:
    """A platform update to keep in the inbox before the platform is told it arrived."""

    delivery_id: str  # unique per messenger; the same id as `Incoming.deliveries` carries
    user_id: str | None  # the sender on the messenger (forgetting them deletes the row)
    payload: dict[str, Any]  # the update as the platform sent it


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """An update kept in the inbox and not yet handled (its replies not yet kept to send)."""

    id: int  # the order it arrived in
    delivery_id: str
    user_id: str | None
    payload: dict[str, Any]
    received_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """The replies of one handled message, kept until they have been sent."""

    id: int
    key: ConversationKey
    chat_id: str
    replies: tuple[Reply, ...]
