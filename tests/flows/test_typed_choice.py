"""Typed text where the bot expects an answer: always an answer, never a message to check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from engine_chat import FLOWS, Person, open_engine, walk_sms_to_evidence

from bot.explain import AnalysisExplainer
from flows.conversation.engine import Engine
from flows.definition.steps.options import typed_option
from flows.model import Forward

SCAM = "【某某银行】您的账户存在异常，请点击 http://abc-bank.example.com 验证身份"


@pytest.fixture
async def checking(tmp_path: Path) -> AsyncIterator[Engine]:
    """An engine that checks messages, as the bot runs."""
    engine, store = await open_engine(tmp_path, explainer=AnalysisExplainer())
    yield engine
    await store.close()


PROBLEM = FLOWS.get("sms").steps["problem"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "lang", "chosen"),
    [
        ("垃圾 / 骚扰短信", "zh", "spam"),  # the label
        ("Spam or harassing texts", "zh", "spam"),  # a label in another language
        ("spam", "zh", "spam"),  # the id
        ("2", "zh", "fraud"),  # the number in the list
        ("  诈骗短信。", "zh", "fraud"),  # spaces and a full stop around it
        ("垃圾", "zh", "spam"),  # the start of one label only
        ("收不到", "zh", "code_missing"),
        ("sp", "en", "spam"),
        ("fraud", "en", "fraud"),
        ("s", "en", None),  # "Spam…" and "SMS platform…": ambiguous
        ("垃圾", "en", None),  # a start counts in the person's language only
        ("6", "zh", None),  # five options
        ("２", "zh", "fraud"),  # an input method's full-width digit
        ("①", "zh", "spam"),  # a circled digit, as people type for "the first"
        ("9" * 5000, "zh", None),  # more digits than int() converts: not a number, no error
        ("0", "zh", None),
        ("我收到的短信一直在推销贷款", "zh", None),
        ("", "zh", None),
    ],
)
def test_typed_option(text: str, lang: str, chosen: str | None) -> None:
    assert typed_option(PROBLEM.options, text, lang) == chosen


async def test_a_number_typed_at_a_choice_picks_that_option(alice: Person) -> None:
    await alice.send("/start")
    await alice.press("短信")
    await alice.send("2")  # on Telegram a typed number is text, not a button
    conv = await alice.conversation()
    assert conv is not None and conv.answers["problem"] == "fraud"


async def test_an_ambiguous_start_asks_again(alice: Person) -> None:
    await alice.send("/lang en")
    await alice.press("Texts")
    await alice.send("s")
    assert "Please choose one of the options below." in alice.text
    assert "(1/11) What exactly is happening?" in alice.text
    await alice.send("sp")
    conv = await alice.conversation()
    assert conv is not None and conv.answers["problem"] == "spam"


async def test_long_text_at_a_choice_is_asked_again_not_checked(checking: Engine) -> None:
    alice = Person(checking)
    await alice.send("/start")
    await alice.press("短信")
    await alice.send(SCAM)  # typed (pasted), not forwarded
    assert "请从下面的选项中选一个。" in alice.text and "（1/11）" in alice.text
    assert "投诉这条消息" not in alice.text and "正在填写一份投诉" not in alice.text
    conv = await alice.conversation()
    assert conv is not None and conv.state == "problem" and conv.answers == {}


async def test_a_forward_at_a_choice_is_checked(checking: Engine) -> None:
    alice = Person(checking)
    await alice.send("/start")
    await alice.press("短信")
    await alice.send(SCAM, forward=Forward("hidden_user", "某某"))
    assert "正在填写一份投诉" in alice.text and "（1/11）" in alice.text


async def test_a_forward_while_other_is_asked_is_the_other_text(checking: Engine) -> None:
    alice = Person(checking)
    await walk_sms_to_evidence(alice)
    await alice.press("跳过")
    await alice.press("其他")
    await alice.send(
        "请说明从哪里得到我的号码并删除它，以后别再发了", forward=Forward("user", "我")
    )
    assert "正在填写一份投诉" not in alice.text
    conv = await alice.conversation()
    assert (
        conv is not None
        and conv.pending["other"] == "请说明从哪里得到我的号码并删除它，以后别再发了"
    )


async def to_summary(alice: Person) -> None:
    await walk_sms_to_evidence(alice)
    await alice.press("跳过")
    await alice.press("停止给我发短信")
    await alice.press("完成")
    assert "请核对你的投诉" in alice.text


async def test_a_cancel_confirmation_left_behind_cancels_nothing(alice: Person) -> None:
    await to_summary(alice)
    await alice.press("❌")
    stale = alice.button("取消并删除")
    await alice.send("等一下")  # anything else withdraws the question
    await alice.send(button=stale.data)
    assert "这个选项已经过期了" in alice.text and "请核对你的投诉" in alice.text
    conv = await alice.conversation()
    assert conv is not None and conv.state == "summary" and conv.answers["remedies"]
    await alice.press("❌")
    await alice.press("取消并删除")
    assert "已取消" in alice.text
    conv = await alice.conversation()
    assert conv is not None and conv.state is None and conv.answers == {}


async def test_filing_after_the_cancel_question_files(alice: Person) -> None:
    await to_summary(alice)
    summary_file = alice.button("提交投诉")
    await alice.press("❌")
    await alice.send(button=summary_file.data)  # the summary's own button still works
    assert "投诉已提交" in alice.text
