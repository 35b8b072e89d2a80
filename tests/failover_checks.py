"""The failover test's checks of the database (PostgreSQL), on the people of crash_people.py.

`check_people` holds the database to what the simulated people (crash_people.py) gave and were
told: every confirmed answer kept, every announced case there and filed once with exactly its
round's screenshots; `check_totals` then wants two evidence rows per case and every filed
case's reminder sent once and recorded. Between the two, each test checks the files (on disk,
or as rows), so that each mutant is caught by the invariant meant for it. It reads through any
connection whose `execute(sql, params)` takes `?` placeholders and gives rows readable by
column name: sqlite3 with `sqlite3.Row`, or the PostgreSQL store's own `Connection` wrapper.
Each failure message starts with the name of the invariant it breaks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from crash_checks import check_answers
from crash_people import FILED, JSON, PHOTOS, Person


class Database(Protocol):
    """A connection that runs `?`-style SQL (sqlite3, or the PostgreSQL Connection wrapper)."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any:
        """Run one statement; return a cursor with fetchone/fetchall."""
        ...


@dataclass
class Checked:
    """What check_people counted, and the evidence rows it read (for the file checks)."""

    cases: int
    announced: int
    evidence: list[Any]  # rows of (case_id, sha256, path)


def check_people(conn: Database, people: list[Person]) -> Checked:
    """Check ANSWERS, CASES and each case's EVIDENCE rows against the database."""
    rows = conn.execute("SELECT case_id, sha256, path FROM evidence").fetchall()
    cases = announced = 0
    for person in people:
        found = conn.execute(
            "SELECT c.id, c.number, c.answers FROM cases c JOIN users u ON u.id = c.user_id"
            " WHERE u.external_id = ?",
            (str(person.user.id),),
        ).fetchall()
        numbers = {row["number"] for row in found}
        told = {m[1] for t in person.fake.texts(person.user.id) if t and (m := FILED.search(t))}
        assert told <= numbers, f"CASES: announced but not in the database: {told - numbers}"
        announced += len(told)
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
                f" files, not the {PHOTOS} screenshots of one round: {shas}"
            )
            assert matching[0] not in filed, f"CASES: round {matching[0]} filed twice"
            filed[matching[0]] = json.loads(row["answers"])
        draft = conn.execute(
            "SELECT v.answers FROM conversations v JOIN users u ON u.id = v.user_id"
            " WHERE u.external_id = ? AND v.flow_id IS NOT NULL",
            (str(person.user.id),),
        ).fetchone()
        for round_ in person.rounds:
            if round_.furthest == 0:  # the bot never showed its first question
                continue
            if round_.number in filed:
                check_answers(person.script, "case", filed[round_.number], round_)
            elif draft is not None and round_ is person.current:
                check_answers(person.script, "draft", json.loads(draft["answers"]), round_)
            else:
                raise AssertionError(
                    f"ANSWERS: user {person.index} round {round_.number}: the bot had asked"
                    f" question {round_.furthest} ({len(round_.confirmed())} answers"
                    " confirmed), yet no case and no draft keeps them"
                )
        cases += len(found)
    return Checked(cases, announced, rows)


def check_totals(conn: Database, checked: Checked) -> None:
    """Check the EVIDENCE row count and every case's REMINDERS row (after check_people)."""
    rows, cases = checked.evidence, checked.cases
    assert len(rows) == PHOTOS * cases, f"EVIDENCE: {len(rows)} rows for {cases} cases"
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
