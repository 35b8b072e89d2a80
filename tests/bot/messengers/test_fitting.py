"""Replies fitted to a messenger's limits: counted its way, buttons capped, edits where possible."""

from __future__ import annotations

import pytest

from bot.messengers.base import Limits, Measure
from bot.messengers.fitting import MORE_BUTTONS, fit, split_text
from flows.model import Button, Document, Reply

WECHAT_LIKE = Limits(max_text=2048, measure=Measure.BYTES, buttons_per_message=10)


def buttons(count: int, per_row: int = 1) -> tuple[tuple[Button, ...], ...]:
    flat = [Button(f"b{i}", f"d{i}") for i in range(count)]
    return tuple(tuple(flat[i : i + per_row]) for i in range(0, count, per_row))


@pytest.mark.parametrize(
    ("measure", "text", "length"),
    [
        (Measure.CHARS, "投诉😀", 3),
        (Measure.UTF16, "投诉😀", 4),  # the emoji is a surrogate pair
        (Measure.BYTES, "投诉😀", 10),  # 3 + 3 + 4 bytes of UTF-8
        (Measure.BYTES, "abc", 3),
    ],
)
def test_each_measure_counts_as_its_messenger_does(
    measure: Measure, text: str, length: int
) -> None:
    assert measure.length(text) == length


def test_chinese_text_is_split_by_bytes_where_bytes_are_the_limit() -> None:
    text = "投" * 1000  # 1,000 characters, 3,000 bytes
    chunks = split_text(text, 2048, Measure.BYTES)
    assert [len(chunk.encode()) for chunk in chunks] == [2046, 954]
    assert "".join(chunks) == text


def test_a_long_reply_keeps_its_buttons_and_document_under_its_last_part() -> None:
    letter = Document("letter.txt", b"...")
    text = "\n".join("第" + str(i) + "行" + "字" * 100 for i in range(30))  # ~9,000 bytes
    fitted = fit([Reply(text, buttons(2), document=letter)], WECHAT_LIKE)
    assert len(fitted) > 1
    assert all(len(r.text.encode()) <= 2048 for r in fitted)
    assert "\n".join(r.text for r in fitted) == text  # cut at line breaks, nothing lost
    assert [r.buttons for r in fitted[:-1]] == [()] * (len(fitted) - 1)
    assert fitted[-1].buttons == buttons(2) and fitted[-1].document == letter


def test_buttons_beyond_the_cap_follow_in_a_message_of_their_own() -> None:
    fitted = fit([Reply("choose", buttons(12, per_row=3))], WECHAT_LIKE)
    assert [r.text for r in fitted] == ["choose", MORE_BUTTONS]
    assert [sum(len(row) for row in r.buttons) for r in fitted] == [9, 3]  # rows kept whole
    shown = [b for r in fitted for row in r.buttons for b in row]
    assert shown == [b for row in buttons(12) for b in row]


def test_a_row_longer_than_the_cap_is_cut() -> None:
    limits = Limits(max_text=100, buttons_per_message=2)
    fitted = fit([Reply("rate", buttons(5, per_row=5))], limits)
    assert [[b.label for row in r.buttons for b in row] for r in fitted] == [
        ["b0", "b1"],
        ["b2", "b3"],
        ["b4"],
    ]


def test_an_edit_is_a_new_message_where_the_messenger_cannot_edit() -> None:
    edit = Reply("updated", buttons(1), edit=True)
    assert fit([edit], Limits(max_text=100, can_edit=False)) == [replace_edit(edit, False)]
    assert fit([edit], Limits(max_text=100, can_edit=True)) == [edit]


def test_short_replies_pass_unchanged() -> None:
    replies = [Reply("a", buttons(2), expects_text=True), Reply("", document=Document("x", b""))]
    assert fit(replies, WECHAT_LIKE) == replies


def replace_edit(reply: Reply, edit: bool) -> Reply:
    return Reply(reply.text, reply.buttons, reply.document, edit, reply.expects_text)


def test_where_a_turn_holds_few_messages_texts_are_joined_while_they_fit() -> None:
    limits = Limits(max_text=30, messages_per_turn=2)
    replies = [Reply("saved."), Reply("noted."), Reply("next question?", buttons(2))]
    fitted = fit(replies, limits)
    assert fitted == [Reply("saved.\n\nnoted.\n\nnext question?", buttons(2))]


def test_texts_too_long_together_stay_apart() -> None:
    limits = Limits(max_text=12, messages_per_turn=1)
    letter = Document("letter.txt", b"...")
    replies = [Reply("first part"), Reply("second part"), Reply("the letter", document=letter)]
    fitted = fit(replies, limits)
    assert [r.text for r in fitted] == ["first part", "second part", "the letter"]
    assert fitted[-1].document == letter


def test_without_a_cap_on_messages_nothing_is_joined() -> None:
    replies = [Reply("saved."), Reply("noted.")]
    assert fit(replies, Limits(max_text=100)) == replies
