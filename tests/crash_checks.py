"""What the crash tests share, whatever the messenger: the person's script and the checks.

A `Script` is a person filing SMS complaints with screenshots by answering whatever the bot
showed last; it notes every answer the bot moved past. After the run `check_database` and
`check_reminders` check the invariants (ANSWERS, CASES, EVIDENCE, FILES, REMINDERS, DATABASE)
against what each script noted, and `check_answered` what each person was told (ANNOUNCED,
UNANSWERED). The Telegram test (tests/bot/test_crash.py) and the WeChat test
(tests/bot/test_wecom_crash.py) drive the bot each through their fake messenger.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from storage import case_numbers

JSON = dict[str, Any]

SMS = "短信：垃圾、诈骗、收不到验证码"
FILED = re.compile(rf"投诉已提交，编号 ({case_numbers.ANY.pattern})")
REMINDER = re.compile(rf"⏰ 投诉 ({case_numbers.ANY.pattern})：.*答复你了吗")
STEP = re.compile(r"（(\d+)/11）")
SUMMARY, DONE = 12, 13  # progress after the eleventh question: the summary, then filed
QUESTIONS = {
    1: "problem",
    2: "sender",
    3: "started",
    4: "frequency",
    5: "content",
    6: "td_reply",
    7: "received",
    8: "carrier",
    9: "my_number",
    10: "evidence",
    11: "remedies",
}


@dataclass
class Round:
    """One complaint a person began: what they answered, and how far the bot confirmed it."""

    number: int
    given: dict[int, Any] = field(default_factory=dict)  # question -> the answer, as saved
    furthest: int = 0  # the furthest question the bot has asked in this round

    def confirmed(self) -> dict[int, Any]:
        """Return the answers the bot moved past: it asked a later question."""
        return {step: value for step, value in self.given.items() if step < self.furthest}


@dataclass(frozen=True)
class Action:
    """What the person does next: press a button of message `index`, say, send a photo, ..."""

    kind: str  # "press", "say", "photo", "nudge", or "filed" (nothing: the round is done)
    value: str | int = ""
    index: int = -1  # the message whose button is pressed


@dataclass
class Script:
    """A person who files SMS complaints by answering whatever the bot asked last."""

    index: int
    photos: int  # screenshots per complaint
    photo: Callable[[int, int], bytes]  # (round, number) -> the screenshot's bytes
    rounds: list[Round] = field(default_factory=list)
    confirmed_photos: set[int] = field(default_factory=set)
    announced: list[tuple[str, int]] = field(default_factory=list)  # (case number, round)
    regressions: list[str] = field(default_factory=list)
    steps_confirmed: int = 0
    nudges: int = 0
    pending_photo: int | None = None  # the screenshot sent last, not yet acknowledged
    filed_seen: int = -1  # index of the newest "filed" message already read

    @property
    def round(self) -> int:
        return len(self.rounds)

    @property
    def current(self) -> Round:
        return self.rounds[-1] if self.rounds else Round(0)

    @property
    def sender(self) -> str:
        return f"1069012345670{self.index}"

    def content(self, round_: int) -> str:
        return f"第{self.index}位用户第{round_}次收到的积分清零短信"

    def photo_hashes(self, round_: int) -> list[str]:
        return sorted(hashlib.sha256(self.photo(round_, n)).hexdigest() for n in range(self.photos))

    def answer(self, step: int, saved: Any) -> None:
        """Note what is given to question `step`, in the form the case will keep it."""
        self.current.given[step] = saved

    def told_before(self, number: str) -> bool:
        """Say whether a filing of case `number` belongs to an earlier round: it was told for
        one, or this round was never sent in (its summary never shown), so it cannot be its
        filing. Noted as told to the round before."""
        if any(told == number and r < self.round for told, r in self.announced):
            return True
        if self.round > 1 and self.current.furthest < SUMMARY:
            if all(told != number for told, _ in self.announced):
                self.announced.append((number, self.round - 1))
            return True
        return False

    def progress(self, text: str) -> int | None:
        if FILED.search(text):
            return DONE
        if "请核对你的投诉" in text:
            return SUMMARY
        steps = STEP.findall(text)
        return int(steps[-1]) if steps else None

    def next(self, shown: Sequence[tuple[str, Sequence[str]]]) -> Action:
        """Return the answer to what the bot showed: (text, button labels) of each message."""
        at = len(shown) - 1
        # After "filed" come the letter and, the first time, the name question: the filing is
        # what this person reads first. A filing told again after a restart (the bot repeats
        # what it filed since the message came) is an earlier round's: it moves this one on
        # not at all, and with nothing after it the person asks where they are.
        filed = []
        for i, (text, _) in enumerate(shown):
            if i > self.filed_seen and (found := FILED.search(text)):
                self.filed_seen = i
                if not self.told_before(found[1]):
                    filed.append(i)
        if filed:
            at = filed[-1]
        elif (found := FILED.search(shown[at][0])) and self.told_before(found[1]):
            return Action("nudge")
        text, labels = shown[at]
        step = self.progress(text)
        now = self.current
        if step is not None:
            if step < now.furthest:
                self.regressions.append(
                    f"round {self.round}: asked question {step} after {now.furthest}"
                )
            elif step > now.furthest:
                self.steps_confirmed += 1
            now.furthest = max(now.furthest, step)

        def press(label: str) -> Action:
            return Action("press", label, at)

        if step == DONE:
            found = FILED.search(text)
            assert found is not None
            if (found[1], self.round) not in self.announced:
                self.announced.append((found[1], self.round))
            return Action("filed")
        if any(SMS in label for label in labels):  # the menu: a new complaint
            self.rounds.append(Round(self.round + 1))
            self.confirmed_photos = set()
            return press(SMS)
        if any("继续填写" in label for label in labels):
            # Another kind's draft: a number typed at a list the bot had just replaced (WeChat
            # resolves "1" against its newest list) started it. A person starts afresh.
            return press("继续填写" if SMS in text else "重新开始")
        if step == 1:
            self.answer(1, "spam")
            return press("垃圾 / 骚扰短信")
        if step == 2:
            self.answer(2, self.sender)
            return Action("say", self.sender)
        if step == 3:
            self.answer(3, "昨天")
            return Action("say", "昨天")
        if step == 4:
            self.answer(4, "daily")
            return press("每天都有")
        if step == 5:
            self.answer(5, self.content(self.round))
            return Action("say", self.content(self.round))
        if step == 6:
            self.answer(6, "not_tried")
            return press("没有退订过")
        if step in (7, 9):  # when and how many; the number that received them
            self.answer(step, None)
            return press("跳过")
        if step == 8:
            self.answer(8, "mobile")
            return press("中国移动")
        if step == 10:
            return self.evidence(text, press)
        if step == 11:
            chosen = any("✅ 停止给我发短信" in label for label in labels)
            self.answer(11, ["stop_sending"])
            return press("完成" if chosen else "停止给我发短信")
        if step == SUMMARY:
            return press("提交投诉")
        # An error, or something unexpected: start again from where the bot is.
        return Action("nudge")

    def evidence(self, text: str, press: Callable[[str], Action]) -> Action:
        if total := re.search(r"共 (\d+) 份证据", text):
            self.confirmed_photos |= set(range(int(total[1])))
        elif "之前已经收到了" in text and self.pending_photo is not None:
            self.confirmed_photos.add(self.pending_photo)  # saved before a crash, not told
        missing = [n for n in range(self.photos) if n not in self.confirmed_photos]
        if missing:
            self.pending_photo = missing[0]
            return Action("photo", missing[0])
        self.answer(10, self.photo_hashes(self.round))
        return press("完成")


@dataclass(frozen=True)
class PersonView:
    """What the checks need of a person: their user id, their script, the numbers they read."""

    external_id: str
    script: Script
    told: set[str]  # case numbers the bot announced to them ("filed")


def handled_deliveries(db: Path, messenger: str) -> set[str]:
    """Return the delivery ids the bot recorded as handled (read while it runs)."""
    if not db.exists():
        return set()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute("SELECT delivery_id FROM deliveries WHERE messenger = ?", (messenger,))
        return {str(row[0]) for row in rows}
    except sqlite3.OperationalError as e:  # no table yet: the first start has not migrated it
        if "no such table" not in str(e):
            raise
        return set()
    finally:
        conn.close()


def case_numbers_in(db: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return {row[0] for row in conn.execute("SELECT number FROM cases")}
    finally:
        conn.close()


def saved_form(key: str, value: Any) -> Any:
    """Return a saved answer in the form `Script.answer` notes it."""
    if value is None:
        return None
    if key == "sender":
        return value["number"]
    if key == "started":
        return value["text"]
    if key == "evidence":
        return sorted(item["sha256"] for item in value)
    if key == "remedies":
        return value["selected"]
    return value


def check_answers(person: Script, where: str, answers: JSON, round_: Round) -> None:
    for step, given in round_.confirmed().items():
        key = QUESTIONS[step]
        kept = saved_form(key, answers.get(key))
        assert kept == given, (
            f"ANSWERS: user {person.index} round {round_.number} {where}: question {step}"
            f" ({key}) was answered {given!r} and confirmed, the database has {kept!r}"
        )


class Database(Protocol):
    """A connection that runs `?`-style SQL (sqlite3, or the PostgreSQL Connection wrapper)."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any:
        """Run one statement; return a cursor with fetchone/fetchall."""
        ...


def check_person(
    conn: Database, person: Script, external_id: str, told: set[str], photos: int
) -> int:
    """Check one person's CASES (each announced one there, each round filed once), EVIDENCE
    (each case has exactly one round's screenshots) and ANSWERS (each confirmed answer kept by
    its round's case, or by the draft in progress); return how many cases they have. Rows
    are read by column name (sqlite3 with `sqlite3.Row`, or the PostgreSQL wrapper's)."""
    found = conn.execute(
        "SELECT c.id, c.number, c.answers FROM cases c JOIN users u ON u.id = c.user_id"
        " WHERE u.external_id = ?",
        (external_id,),
    ).fetchall()
    numbers = {row["number"] for row in found}
    assert told <= numbers, f"CASES: announced but not in the database: {told - numbers}"
    filed: dict[int, JSON] = {}  # round -> the answers of the case filed from it
    for row in found:
        shas = sorted(
            r["sha256"]
            for r in conn.execute(
                "SELECT sha256 FROM evidence WHERE case_id = ?", (row["id"],)
            ).fetchall()
        )
        # Exactly the screenshots of one round, each once.
        matching = [r for r in range(1, person.round + 1) if shas == person.photo_hashes(r)]
        assert len(matching) == 1, (
            f"EVIDENCE: case {row['number']} of user {person.index} has {len(shas)}"
            f" files, not the {photos} screenshots of one round: {shas}"
        )
        assert matching[0] not in filed, f"CASES: round {matching[0]} filed twice"
        filed[matching[0]] = json.loads(row["answers"])
    draft = conn.execute(
        "SELECT v.answers FROM conversations v JOIN users u ON u.id = v.user_id"
        " WHERE u.external_id = ? AND v.flow_id IS NOT NULL",
        (external_id,),
    ).fetchone()
    for round_ in person.rounds:
        if round_.furthest == 0:  # the bot never showed its first question
            continue
        if round_.number in filed:
            check_answers(person, "case", filed[round_.number], round_)
        elif draft is not None and round_ is person.current:
            check_answers(person, "draft", json.loads(draft["answers"]), round_)
        else:
            raise AssertionError(
                f"ANSWERS: user {person.index} round {round_.number}: the bot had asked"
                f" question {round_.furthest} ({len(round_.confirmed())} answers"
                " confirmed), yet no case and no draft keeps them"
            )
    return len(found)


def check_database(folder: Path, people: Sequence[PersonView], photos: int) -> dict[str, int]:
    """Check cases, answers, evidence files and reminders in `folder`'s database at rest."""
    conn = sqlite3.connect(folder / "bot.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        assert integrity == "ok", f"DATABASE: integrity_check says {integrity}"
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        assert broken == [], f"DATABASE: foreign keys broken: {[tuple(r) for r in broken]}"
        data = folder / "data"
        rows = conn.execute("SELECT case_id, sha256, path FROM evidence").fetchall()
        for row in rows:  # no file missing, and each one whole
            path = data / row["path"]
            assert path.is_file(), f"EVIDENCE: the file of a row is missing: {row['path']}"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert digest == row["sha256"], f"EVIDENCE: file changed: {row['path']}"
        cases = announced = 0
        for view in people:
            cases += check_person(conn, view.script, view.external_id, view.told, photos)
            announced += len(view.told)
        files = [p for p in (data / "evidence").rglob("*") if p.is_file()]
        referenced = {row["path"] for row in rows}
        unreferenced = [p for p in files if str(p.relative_to(data)) not in referenced]
        assert unreferenced == [], f"FILES: {len(unreferenced)} evidence files without a row"
        assert len(rows) == photos * cases, f"EVIDENCE: {len(rows)} rows for {cases} cases"
        reminders = conn.execute(
            "SELECT c.number, r.status, c.state,"
            " (SELECT count(*) FROM events e WHERE e.case_id = c.id AND e.kind = 'reminded')"
            " FROM cases c JOIN reminders r ON r.case_id = c.id"
        ).fetchall()
        for number, status, state, reminded in reminders:
            assert (status, state, reminded) == ("sent", "follow_up", 1), (
                f"REMINDERS: case {number}: reminder {status}, case {state}, {reminded} recorded"
            )
        assert len(reminders) == cases, f"REMINDERS: {len(reminders)} rows for {cases} cases"
        return {
            "cases": cases,
            "announced": announced,
            "evidence_rows": len(rows),
            "unreferenced_files": len(unreferenced),
        }
    finally:
        conn.close()


def check_reminders(sends: dict[str, list[int]], kills: int, people: int) -> dict[str, int]:
    """Each process sends a reminder at most once; a kill repeats at most one per person.

    `sends` gives, per case number, the process (by start) that sent each of its reminders.
    """
    for number, processes in sends.items():
        twice = sorted({p for p in processes if processes.count(p) > 1})
        assert not twice, f"REMINDERS: case {number}: sent twice by the process of start {twice}"
    repeats = sum(len(processes) - 1 for processes in sends.values())
    bound = kills * people
    assert repeats <= bound, f"REMINDERS: {repeats} repeated, more than {bound} (kills x people)"
    return {"reminders_sent": sum(map(len, sends.values())), "reminder_repeats": repeats}


def check_answered(figures: dict[str, int], unanswered: Sequence[int]) -> dict[str, int]:
    """Every filed case was announced and every message answered; return the two counts.

    `figures` are `check_database`'s (cases and announced); `unanswered` gives, per person, the
    messages the running bot never answered (the person had to nudge it).
    """
    unannounced = figures["cases"] - figures["announced"]
    assert unannounced == 0, f"ANNOUNCED: {unannounced} complaints filed and never announced"
    for index, count in enumerate(unanswered):
        assert count == 0, (
            f"UNANSWERED: person {index}: {count} messages the running bot never answered"
            " (the person had to nudge it)"
        )
    return {"unannounced": unannounced, "unanswered": sum(unanswered)}
