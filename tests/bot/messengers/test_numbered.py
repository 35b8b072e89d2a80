"""Numbered buttons (the console, WeChat without a menu): shown as lines, pressed by typing."""

from __future__ import annotations

from bot.messengers.numbered import NumberedButtons
from flows.model import Button, Reply

SMS = Button("短信：垃圾、诈骗", "cat:sms")
CALLS = Button("电话骚扰", "cat:calls")
CASES = Button("📂 我的案件", "cmd:cases")
STARS = (Button("⭐", "rate:1"), Button("⭐⭐", "rate:2"))


def test_the_question_s_buttons_are_numbered_and_a_typed_number_presses_one() -> None:
    shown = NumberedButtons()
    lines = shown.turn([Reply("hello", ((CASES,),)), Reply("what happened?", ((SMS, CALLS),))])
    assert lines == [["  · 📂 我的案件"], ["  1. 短信：垃圾、诈骗", "  2. 电话骚扰"]]
    assert shown.press("2") == CALLS
    assert shown.press("3") is None


def test_a_label_presses_its_button_even_from_an_earlier_reply_of_the_answer() -> None:
    shown = NumberedButtons()
    shown.turn([Reply("hello", ((CASES,),)), Reply("what happened?", ((SMS, CALLS),))])
    assert shown.press("电话骚扰") == CALLS
    assert shown.press("我的案件") == CASES  # the emoji and spaces do not matter
    assert shown.press("短信 垃圾 诈骗") == SMS
    assert shown.press("something else") is None


def test_where_a_typed_answer_is_expected_numbers_are_answers_not_buttons() -> None:
    shown = NumberedButtons()
    lines = shown.turn([Reply("how much?", ((Button("跳过", "skip"),),), expects_text=True)])
    assert lines == [["  · 跳过"]]
    assert shown.press("1") is None  # "1" is an amount
    assert shown.press("跳过") == Button("跳过", "skip")


def test_labels_of_emoji_only_are_pressed_exactly() -> None:
    shown = NumberedButtons()
    shown.turn([Reply("rate us", (STARS,))])
    assert shown.press("⭐⭐") == STARS[1]
    assert shown.press("⭐") == STARS[0]


def test_an_answer_without_buttons_keeps_the_last_ones_pressable() -> None:
    shown = NumberedButtons()
    shown.turn([Reply("what happened?", ((SMS, CALLS),))])
    shown.turn([Reply("noted")])
    assert shown.press("1") == SMS
