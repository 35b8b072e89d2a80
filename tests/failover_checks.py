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

from dataclasses import dataclass
from typing import Any

from crash_checks import Database, check_person
from crash_people import FILED, PHOTOS, Person


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
        told = {m[1] for t in person.fake.texts(person.user.id) if t and (m := FILED.search(t))}
        cases += check_person(conn, person.script, str(person.user.id), told, PHOTOS)
        announced += len(told)
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
