"""The engine on real SQLite: what persists after each step, and how bad or stale input is met."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from engine_chat import FLOWS, Person, attachment, open_engine, walk_sms_to_evidence

from flows.conversation.engine import Engine
from flows.model import Attachment, ConversationKey, Forward, Reply
from flows.records import StepCommit
from storage import StorageError, case_numbers

ALICE = ConversationKey("test", "alice")
DATA = Path(__file__).parent.parent / "data"


async def test_progress_shows_position_and_total(engine: Engine) -> None:
    bot = Person(engine)
    await bot.send("/start")
    await bot.press("短信")
    assert "（1/11）" in bot.text
    await bot.press("收不到验证码")  # a shorter branch: the total follows the answers
    assert "（2/7）" in bot.text


async def test_each_step_is_saved_before_the_reply(engine: Engine) -> None:
    bot = Person(engine)
    await bot.send("/start")
    await bot.press("短信")
    await bot.press("垃圾")
    await bot.send("10690123456789")
    conv = await engine.store.load_conversation(ALICE)
    assert conv is not None
    assert conv.state == "started"
    assert conv.history == ["problem", "sender"]
    assert conv.answers["sender"]["number"] == "10690123456789"
    assert conv.answers["sender_type"] == "industry_national"


async def test_a_restarted_bot_continues_at_the_same_step(tmp_path: Path) -> None:
    engine, store = await open_engine(tmp_path)
    bot = Person(engine)
    await bot.send("/start")
    await bot.press("短信")
    await bot.press("垃圾")
    await bot.send("10690123456789")
    await store.close()

    engine, store = await open_engine(tmp_path)
    bot = Person(engine)
    await bot.send("/start")
    assert "第 3/11 步" in bot.text
    await bot.press("继续填写")
    assert "（3/11）" in bot.text
    await bot.press("上一步")
    assert "10690123456789" in bot.text  # the earlier answer is kept, shown for editing
    await store.close()


async def test_a_stale_button_expires_and_shows_the_current_step(engine: Engine) -> None:
    bot = Person(engine)
    await bot.send("/start")
    await bot.press("短信")
    old = bot.replies
    await bot.press("垃圾")
    bot.replies = old
    await bot.press("诈骗")  # pressed on the old question, after it was answered
    assert "这个选项已经过期了" in bot.text
    assert "（2/11）" in bot.text
    conv = await engine.store.load_conversation(ALICE)
    assert conv is not None and conv.answers["problem"] == "spam"


async def test_an_expired_menu_press_leaves_the_menu_just_sent_working(engine: Engine) -> None:
    # Two menus in flight (a message kept over a restart answered along with the person's
    # nudge): each press of the older one must not expire the newer one, or a person who
    # answers every reply presses an expired menu forever.
    bot = Person(engine)
    first = await bot.send("/start")
    second = await bot.send("/start")
    bot.replies = first
    await bot.press("短信")
    assert "这个选项已经过期了" in bot.text and "遇到了什么问题" in bot.text
    bot.replies = second
    await bot.press("短信")
    assert "这个选项已经过期了" not in bot.text
    assert "（1/11）" in bot.text
    conv = await engine.store.load_conversation(ALICE)
    assert conv is not None and conv.flow_id == "sms"


@pytest.mark.parametrize("data", ["", "garbage", "x:y", "99999999999:opt:spam", "g:nope"])
async def test_unknown_button_data_is_answered_politely(engine: Engine, data: str) -> None:
    bot = Person(engine)
    await bot.send("/start")
    await bot.send(button=data)
    assert "这个选项已经过期了" in bot.text
    assert "遇到了什么问题" in bot.text


async def test_a_storage_failure_is_told_and_loses_nothing_confirmed(engine: Engine) -> None:
    bot = Person(engine)
    await bot.send("/start")
    await bot.press("短信")
    await bot.press("垃圾")
    store = engine.store
    real_commit = store.commit

    async def failing_commit(step: StepCommit) -> str | None:
        raise StorageError("disk full")

    store.commit = failing_commit  # type: ignore[method-assign]
    await bot.send("10690123456789")
    # Its own text, not the generic error: the person should simply send it again.
    assert bot.text == FLOWS.catalog("save_failed", "zh")
    assert bot.text != FLOWS.catalog("internal_error", "zh")
    store.commit = real_commit  # type: ignore[method-assign]
    conv = await store.load_conversation(ALICE)
    assert conv is not None and conv.state == "sender" and conv.answers == {"problem": "spam"}
    await bot.send("10690123456789")
    assert "（3/11）" in bot.text


async def test_an_album_is_one_message_and_kept_as_one_group(engine: Engine) -> None:
    bot = Person(engine)
    await walk_sms_to_evidence(bot)
    png = (DATA / "sms-screenshot.png").read_bytes()
    album = tuple(attachment(png + bytes([i]), unique=f"u{i}", group="album-1") for i in range(3))
    await bot.send(attachments=album)
    assert "已收到 3 份，共 3 份证据" in bot.text
    await bot.press("完成")
    await bot.press("停止给我发短信")
    await bot.press("完成")
    await bot.press("提交投诉")
    case = await engine.store.get_case(ALICE, case_numbers.ANY.search(bot.text)[0])
    assert case is not None
    assert [(e.kind, e.group_id, e.file_unique_id) for e in case.evidence] == [
        ("photo", "album-1", "u0"),
        ("photo", "album-1", "u1"),
        ("photo", "album-1", "u2"),
    ]


async def test_a_forwarded_message_becomes_evidence_with_its_text(engine: Engine) -> None:
    bot = Person(engine)
    await walk_sms_to_evidence(bot)
    sent = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    await bot.send(
        "【银行】您的账户异常，点击 http://bank-verify.cc 验证",
        forward=Forward("hidden_user", "某某", None, sent),
    )
    assert "已收到 1 份" in bot.text
    conv = await engine.store.load_conversation(ALICE)
    assert conv is not None and conv.answers["evidence"][0]["kind"] == "forward"


async def test_oversized_file_is_refused_before_download(tmp_path: Path) -> None:
    engine, store = await open_engine(tmp_path, max_file_size=1024)
    bot = Person(engine)
    await walk_sms_to_evidence(bot)
    downloaded = []

    async def fetch() -> bytes:
        downloaded.append(True)
        return b"x"

    big = Attachment(
        kind="document",
        file_name="huge.pdf",
        mime_type="application/pdf",
        size=5 * 1024 * 1024,
        fetch=fetch,
    )
    await bot.send(attachments=(big,))
    assert "「huge.pdf」太大了（5.0 MB），上限是 1 KB" in bot.text
    assert downloaded == []
    await store.close()


async def test_a_file_whose_content_does_not_match_its_type_is_refused(engine: Engine) -> None:
    bot = Person(engine)
    await walk_sms_to_evidence(bot)

    async def fetch() -> bytes:
        return b"MZ\x90\x00 an executable"

    fake = Attachment(
        kind="document", file_name="receipt.pdf", mime_type="application/pdf", size=20, fetch=fetch
    )
    await bot.send(attachments=(fake,))
    assert "「receipt.pdf」的内容和它的格式对不上" in bot.text
    conv = await engine.store.load_conversation(ALICE)
    assert conv is not None and "evidence" not in conv.answers


async def test_unsupported_media_keeps_the_step(engine: Engine) -> None:
    bot = Person(engine)
    await walk_sms_to_evidence(bot)
    await bot.send(unsupported="voice")
    assert "语音、视频、贴纸" in bot.text
    conv = await engine.store.load_conversation(ALICE)
    assert conv is not None and conv.state == "evidence"


async def test_multi_choices_survive_a_restart(tmp_path: Path) -> None:
    engine, store = await open_engine(tmp_path)
    bot = Person(engine)
    await walk_sms_to_evidence(bot)
    await bot.press("跳过")
    await bot.press("道歉")
    assert bot.replies[-1].edit  # the toggle redraws the pressed message in place
    await store.close()
    engine, store = await open_engine(tmp_path)
    bot = Person(engine)
    await bot.send("/start")
    await bot.press("继续填写")
    assert "✅ 道歉" in str(bot.replies[-1].buttons)
    await store.close()


async def test_someone_elses_case_answers_like_a_missing_one(engine: Engine) -> None:
    alice = Person(engine)
    await walk_sms_to_evidence(alice)
    await alice.press("跳过")
    await alice.press("道歉")
    await alice.press("完成")
    await alice.press("提交投诉")
    number = case_numbers.ANY.search(alice.text)[0]
    never_issued = case_numbers.new_number(2026)
    bob = Person(engine, "bob")
    await bob.send(f"/case {number}")
    theirs = bob.text
    await bob.send(f"/case {never_issued}")
    assert theirs.replace(number, never_issued) == bob.text
    assert "没有找到" in bob.text
    await bob.send("/cases")
    assert number not in bob.text


async def test_language_switch_re_asks_the_current_question(engine: Engine) -> None:
    bot = Person(engine)
    await bot.send("/start")
    await bot.press("短信")
    await bot.send("/lang en")
    assert "OK, English from now on." in bot.text
    assert "(1/11)" in bot.text
    await bot.send("/lang fr")
    assert "Usage: /lang zh" in bot.text


async def test_help_lists_every_command(engine: Engine) -> None:
    bot = Person(engine)
    await bot.send("/help")
    for command in ("/new", "/cases", "/case", "/cancel", "/lang", "/help"):
        assert command in bot.text


async def test_a_remedy_the_changed_problem_no_longer_offers_is_dropped(alice: Person) -> None:
    """Spam's "stop texting me" must not stay in a case changed to missing codes."""
    await walk_sms_to_evidence(alice)
    await alice.press("跳过")
    await alice.press("停止给我发短信")
    await alice.press("道歉")
    await alice.press("完成")
    assert "• 我的要求: 停止给我发短信、道歉" in alice.text
    await alice.press("✏️ 问题")
    await alice.press("收不到验证码")
    await alice.send("某银行 App")  # the question the change opened up
    assert "请核对你的投诉" in alice.text
    assert "• 我的要求: 道歉" in alice.text  # kept: it fits missing codes too
    conv = await alice.conversation()
    assert conv is not None and conv.answers["remedies"]["selected"] == ["apology"]
    # With nothing left that fits (an apology is not asked of a scammer), the remedies are
    # dropped, to be asked again once the questions fraud opens up are answered.
    await alice.press("✏️ 问题")
    await alice.press("诈骗短信")
    conv = await alice.conversation()
    assert conv is not None and "remedies" not in conv.answers


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("renders_again", [True, False])
async def test_a_failure_after_the_step_was_saved_does_not_ask_for_the_message_again(
    engine: Engine, language: str, renders_again: bool
) -> None:
    bot = Person(engine)
    await bot.send(f"/lang {language}")
    await bot.send("/start")
    await bot.press("短信" if language == "zh" else "Texts")
    await bot.press("垃圾" if language == "zh" else "Spam")
    render = engine.services.render
    real_question = render.question
    calls = 0

    def broken_once(*args: Any, **kwargs: Any) -> Reply:
        nonlocal calls
        calls += 1
        if calls == 1 or not renders_again:
            raise RuntimeError("a bug in drawing the next question")
        return real_question(*args, **kwargs)

    render.question = broken_once  # type: ignore[method-assign]
    await bot.send("10690123456789", deliveries=("update-1",))
    render.question = real_question  # type: ignore[method-assign]
    # The answer was saved: "send it again" would answer the next question with it.
    conv = await bot.conversation()
    assert conv is not None and conv.answers["sender"]["number"] == "10690123456789"
    assert bot.text != FLOWS.catalog("internal_error", language)
    if renders_again:
        assert bot.text.startswith(FLOWS.catalog("internal_error_saved", language)), bot.text
        assert "3/11" in bot.text  # where the conversation is now
    else:
        assert bot.text == FLOWS.catalog("internal_error_stuck", language)
    await bot.send("10690123456789", deliveries=("update-1",))  # delivered again: no effect
    assert bot.replies == []
