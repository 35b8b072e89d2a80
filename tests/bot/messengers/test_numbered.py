"""Numbered buttons (the console, WeChat without a menu): shown as lines, pressed by typing."""

from __future__ import annotations

import json

from bot.messengers.numbered import OnScreen
from flows.model import Button, Reply

SMS = Button("短信：垃圾、诈骗", "cat:sms")
CALLS = Button("电话骚扰", "cat:calls")
CASES = Button("📂 我的案件", "cmd:cases")
STARS = (Button("⭐", "rate:1"), Button("⭐⭐", "rate:2"))
WELCOME = [Reply("hello", ((CASES,),)), Reply("what happened?", ((SMS, CALLS),))]


def test_the_question_s_buttons_are_numbered_and_a_typed_number_presses_one() -> None:
    shown, screen = OnScreen().show(WELCOME)
    assert shown == [["  · 📂 我的案件"], ["  1. 短信：垃圾、诈骗", "  2. 电话骚扰"]]
    assert screen.press("2") == CALLS
    assert screen.press("3") is None


def test_digits_of_any_keyboard_press_a_button_and_a_huge_number_presses_none() -> None:
    _, screen = OnScreen().show(WELCOME)
    assert screen.press("２") == CALLS  # full-width, from an input method
    assert screen.press("①") == SMS  # circled: raised ValueError in int() before
    assert screen.press("²") == CALLS
    assert screen.press("9" * 5000) is None  # int() refuses 5,000 digits
    assert screen.number("１") == 1 and screen.number("３") is None


def test_a_label_presses_its_button_even_from_an_earlier_reply_of_the_answer() -> None:
    _, screen = OnScreen().show(WELCOME)
    assert screen.press("电话骚扰") == CALLS
    assert screen.press("我的案件") == CASES  # the emoji and spaces do not matter
    assert screen.press("短信 垃圾 诈骗") == SMS
    assert screen.press("something else") is None


def test_where_a_typed_answer_is_expected_numbers_are_answers_not_buttons() -> None:
    skip = Button("跳过", "skip")
    shown, screen = OnScreen().show([Reply("how much?", ((skip,),), expects_text=True)])
    assert shown == [["  · 跳过"]]
    assert screen.press("1") is None  # "1" is an amount
    assert screen.press("跳过") == skip


def test_labels_of_emoji_only_are_pressed_exactly() -> None:
    _, screen = OnScreen().show([Reply("rate us", (STARS,))])
    assert screen.press("⭐⭐") == STARS[1]
    assert screen.press("⭐") == STARS[0]


def test_an_answer_without_buttons_keeps_the_last_ones_pressable() -> None:
    _, screen = OnScreen().show([Reply("what happened?", ((SMS, CALLS),))])
    _, screen = screen.show([Reply("noted")])
    assert screen.press("1") == SMS


def test_what_is_on_screen_survives_a_restart_as_json() -> None:
    _, screen = OnScreen().show(WELCOME)
    saved = json.dumps(screen.to_json(), ensure_ascii=False)
    again = OnScreen.from_json(json.loads(saved))
    assert again == screen
    assert again.press("1") == SMS
    assert OnScreen.from_json(None) == OnScreen()
