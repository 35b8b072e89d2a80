"""Reminder kinds come from one registry: what each asks, what its delivery does to the case."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from engine_chat import FLOWS, NOW, Person, file_from_evidence, open_engine, walk_sms_to_evidence

from flows.conversation.reminder_kinds import REMINDER_KINDS, ReminderKind


async def _filed_reminder(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine, store = await open_engine(tmp_path)
    person = Person(engine)
    await walk_sms_to_evidence(person)
    number = await file_from_evidence(person)
    due = await store.due_reminders(NOW + timedelta(days=400))
    assert [r.case_number for r in due] == [number]
    return engine, store, due[0]


def _tail(key: str) -> str:
    """Return the question's words after its last placeholder (they are not filled in)."""
    return FLOWS.catalog(key, "zh").split("}")[-1].strip()


def test_every_kind_asks_a_text_the_flows_have_in_both_languages() -> None:
    for kind in REMINDER_KINDS.values():
        for lang in ("zh", "en"):
            assert FLOWS.catalog(kind.question, lang).strip(), (kind.name, lang)


async def test_the_deadline_reminder_asks_how_it_went_and_moves_the_case(tmp_path: Path) -> None:
    engine, store, reminder = await _filed_reminder(tmp_path)
    assert reminder.kind == "deadline"
    prompt = await engine.reminder_prompt(reminder)
    assert prompt is not None
    assert _tail("followup_question") in prompt.text
    before = (await store.get_case(reminder.key, reminder.case_number)).state  # type: ignore[union-attr]
    await engine.reminder_delivered(reminder)
    after = await store.get_case(reminder.key, reminder.case_number)
    assert after is not None and after.state != before  # deadline_passed fired
    await store.close()


async def test_a_kind_registered_in_one_place_is_asked_and_only_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(REMINDER_KINDS, "later", ReminderKind("later", "snooze_question"))
    engine, store, reminder = await _filed_reminder(tmp_path)
    later = replace(reminder, kind="later")
    prompt = await engine.reminder_prompt(later)
    assert prompt is not None
    assert _tail("snooze_question") in prompt.text
    assert _tail("followup_question") not in prompt.text
    state = (await store.get_case(reminder.key, reminder.case_number)).state  # type: ignore[union-attr]
    await engine.reminder_delivered(later)
    case = await store.get_case(reminder.key, reminder.case_number)
    assert case is not None and case.state == state  # no trigger: the case stays where it was
    assert case.events[-1].kind == "reminded"
    await store.close()


async def test_an_unknown_kind_is_not_sent(tmp_path: Path) -> None:
    engine, store, reminder = await _filed_reminder(tmp_path)
    assert await engine.reminder_prompt(replace(reminder, kind="from-a-newer-bot")) is None
    await store.close()


async def test_a_reminder_delivered_twice_is_recorded_once(tmp_path: Path) -> None:
    # Sent again after a crash between the send and its record: the case shows one reminder.
    engine, store, reminder = await _filed_reminder(tmp_path)
    assert await engine.reminder_delivered(reminder)
    assert not await engine.reminder_delivered(reminder)
    case = await store.get_case(reminder.key, reminder.case_number)
    assert case is not None
    assert [e.kind for e in case.events].count("reminded") == 1
    assert await store.pending_reminders() == []
    await store.close()
