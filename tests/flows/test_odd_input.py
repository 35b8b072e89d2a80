"""Inputs the corpus found mishandled, each pinned by its own test."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_chat import Person, open_engine, walk_sms_to_evidence

from flows.callbacks import decode


@pytest.mark.parametrize("data", ["²:opt:spam", "٣:opt:spam", "１:opt:spam"])
def test_a_turn_of_non_ascii_digits_is_not_a_button_of_ours(data: str) -> None:
    assert decode(data) is None


async def test_a_non_ascii_digit_turn_is_an_expired_button_not_an_error(tmp_path: Path) -> None:
    engine, store = await open_engine(tmp_path)
    alice = Person(engine)
    await alice.send("/start")
    await alice.send(button="²:cat:sms")
    assert "这个按钮已经过期了" in alice.text and "遇到了什么问题" in alice.text
    await store.close()
