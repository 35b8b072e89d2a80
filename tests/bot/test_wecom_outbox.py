"""Fitting replies into WeChat's rules: bytes, menus, merging, the 5-message budget."""

from __future__ import annotations

from bot.messengers.numbered import OnScreen
from bot.messengers.wecom.menus import command, fits_menu, screen_of
from bot.messengers.wecom.outbox import MAX_TEXT, Out, budget, merge, render, split_bytes
from flows.model import Button, Document, Reply

FORMATS = frozenset({"txt"})


def test_texts_are_split_by_utf8_bytes_at_line_breaks() -> None:
    text = ("投诉" * 100 + "\n") * 10  # 601 bytes a line
    pieces = split_bytes(text)
    assert all(len(p.encode()) <= MAX_TEXT for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    assert all(not p.startswith("\n") for p in pieces)
    assert split_bytes("字" * 700) == ["字" * 682, "字" * 18]  # no line break: cut by bytes


def test_ten_short_buttons_are_a_menu_eleven_are_numbered_lines() -> None:
    ten = tuple((Button(f"选项{i}", f"d{i}"),) for i in range(10))
    menu = render([Reply("选一个", buttons=ten)], OnScreen(), formats=FORMATS).outs
    assert len(menu) == 1 and len(menu[0].menu) == 10 and menu[0].menu[0].label == "1. 选项0"
    eleven = (*ten, (Button("选项10", "d10"),))
    lines = render([Reply("选一个", buttons=eleven)], OnScreen(), formats=FORMATS)
    assert lines.outs[0].menu == () and "11. 选项10" in lines.outs[0].text
    assert lines.screen.press("11") == Button("选项10", "d10")
    assert not fits_menu([Button("x", "i" * 65)])


def test_a_question_expecting_text_lists_buttons_without_numbers() -> None:
    rendered = render(
        [Reply("金额是多少？", buttons=((Button("跳过", "skip"),),), expects_text=True)],
        OnScreen(),
        use_menus=False,
        formats=FORMATS,
    )
    assert "· 跳过" in rendered.outs[0].text
    screen = rendered.screen
    assert screen.press("1") is None  # "1" is an amount here
    assert screen.press("跳过") == Button("跳过", "skip")
    assert command(screen, "取消") is None  # a typed answer: words are answers


def test_command_words_press_commands_where_no_text_is_expected() -> None:
    assert command(OnScreen(), "新投诉") == "/new"
    assert command(OnScreen((Button("a", "b"),), numbered=True), "删除我的数据") == "/forget"


def test_a_screen_saved_before_onscreen_still_presses_its_buttons() -> None:
    saved = {"buttons": [["短信", "cat:sms"]], "numbered": True, "older": [["帮助", "help"]]}
    screen = screen_of(saved)
    assert screen.press("1") == Button("短信", "cat:sms")
    assert screen.press("帮助") == Button("帮助", "help")
    assert screen_of(screen.to_json()) == screen  # saved from now on in OnScreen's form


def test_texts_in_a_row_merge_and_the_md_letter_is_left_out() -> None:
    letter_txt = Document("TS-1-letter.txt", b"letter", "text/plain")
    letter_md = Document("TS-1-letter.md", b"# letter", "text/markdown")
    replies = [
        Reply("投诉已提交"),
        Reply("投诉信如下"),
        Reply("", document=letter_txt),
        Reply("", document=letter_md),
        Reply("下一步", buttons=((Button("好", "ok"),),)),
    ]
    outs = render(replies, OnScreen(), formats=FORMATS).outs
    assert [bool(o.document) for o in outs] == [False, True, False]
    assert outs[0].text == "投诉已提交\n\n投诉信如下"
    assert outs[2].menu and outs[2].text == "下一步"


def test_a_long_text_before_a_menu_is_sent_on_its_own() -> None:
    long = "字" * 400  # 1,200 bytes: over the 1,024 of a menu's head
    outs = merge([Out(long), Out("问题", (Button("好", "ok"),))])
    assert len(outs) == 2 and outs[1].text == "问题"


def test_the_budget_keeps_the_last_slot_for_the_note() -> None:
    outs = [Out(f"m{i}") for i in range(8)]
    now, rest = budget(outs, 5, "zh")
    assert [o.text for o in now[:4]] == ["m0", "m1", "m2", "m3"]
    assert "还有 4 条" in now[4].text and "继续" in now[4].text
    assert [o.text for o in rest] == ["m4", "m5", "m6", "m7"]
    assert budget(outs[:5], 5, "zh") == (outs[:5], [])
    assert budget(outs, 0, "zh") == ([], outs)


def test_pages_survive_the_database_as_json() -> None:
    out = Out("x", (Button("a", "b"),), Document("f.txt", b"\x00\x01", "text/plain"))
    assert Out.from_json(out.to_json()) == out
