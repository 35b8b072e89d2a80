"""Inputs the corpus found mishandled, each pinned by its own test."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_chat import (
    Person,
    answer_sms_to_content,
    attachment,
    png,
    walk_sms_to_evidence,
)

from flows.conversation.callbacks import decode
from flows.model import Attachment, Forward


@pytest.mark.parametrize("data", ["²:opt:spam", "٣:opt:spam", "１:opt:spam"])
def test_a_turn_of_non_ascii_digits_is_not_a_button_of_ours(data: str) -> None:
    assert decode(data) is None


async def test_a_non_ascii_digit_turn_is_an_expired_button_not_an_error(alice: Person) -> None:
    await alice.send("/start")
    await alice.send(button="²:cat:sms")
    assert "这个选项已经过期了" in alice.text and "遇到了什么问题" in alice.text


@pytest.mark.parametrize("text", ["\u200b", "\u200b\u200c\u200d\ufeff", "\u2060", "\u200f \u200e"])
async def test_text_of_only_invisible_characters_is_not_an_answer(alice: Person, text: str) -> None:
    await alice.send("/start")
    await answer_sms_to_content(alice)
    assert "（5/11）" in alice.text
    await alice.send(text)
    assert "请多写一点（至少 1 个字）" in alice.text and "（5/11）" in alice.text
    conv = await alice.conversation()
    assert conv is not None and conv.state == "content" and "content" not in conv.answers


async def test_the_typed_other_remedy_is_checked_like_any_typed_answer(alice: Person) -> None:
    await walk_sms_to_evidence(alice)
    await alice.press("跳过")
    await alice.press("其他")
    await alice.send("投诉" * 2500)
    assert "太长了（5000 字），请控制在 4000 字以内。" in alice.text
    await alice.send("\u200b")
    assert "请多写一点（至少 1 个字）" in alice.text
    conv = await alice.conversation()
    assert conv is not None and conv.pending.get("other") is None
    assert conv.pending["awaiting_other"]  # still asking for it
    await alice.send("公开道歉")
    assert "✅ 其他… 公开道歉" in str(alice.replies[-1].buttons)


async def test_lone_surrogates_are_replaced_not_an_error(alice: Person) -> None:
    # A console under the C locale reads undecodable bytes as lone surrogates, which SQLite
    # cannot store: every message failed with "something went wrong", again and again.
    await walk_sms_to_evidence(alice)
    await alice.send(
        attachments=(attachment(png(5), kind="document", name="shot\udcff.png", mime="image/png"),)
    )
    assert "已收到 1 份" in alice.text
    await alice.send("/start")
    await alice.press("重新开始")
    await answer_sms_to_content(alice)
    await alice.send("bad \udcff\ud800 bytes")
    assert "（6/11）" in alice.text
    conv = await alice.conversation()
    assert conv is not None and conv.answers["content"] == "bad \ufffd\ufffd bytes"


async def test_a_file_over_the_maximum_count_is_neither_downloaded_nor_left_on_disk(
    alice: Person, tmp_path: Path
) -> None:
    await walk_sms_to_evidence(alice)
    await alice.send(attachments=tuple(attachment(png(i), unique=f"u{i}") for i in range(9)))
    fetched: list[int] = []

    def counted(seed: int) -> Attachment:
        async def fetch() -> bytes:
            fetched.append(seed)
            return png(seed)

        return Attachment(kind="photo", mime_type="image/jpeg", size=100, fetch=fetch)

    await alice.send(attachments=(counted(100), counted(101), counted(102)))
    assert "最多 10 份证据，多出的 2 份没有保存。" in alice.text
    assert fetched == [100]
    on_disk = {p.name for p in (tmp_path / "data" / "evidence").rglob("*") if p.is_file()}
    conv = await alice.conversation()
    assert conv is not None and len(conv.answers["evidence"]) == 10
    assert on_disk == {e["sha256"] for e in conv.answers["evidence"]}


async def test_a_duplicate_sent_again_leaves_no_file_once_the_complaint_is_cancelled(
    alice: Person, tmp_path: Path
) -> None:
    await walk_sms_to_evidence(alice)
    for _ in range(2):  # the second time it is a duplicate
        await alice.send("退订也没用的广告", forward=Forward("hidden_user", "某某", None, None))
        await alice.send(attachments=(attachment(png(8), unique="same"),))
    assert "之前已经收到了" in alice.text
    await alice.send("/cancel")
    assert not [p for p in (tmp_path / "data" / "evidence").rglob("*") if p.is_file()]
