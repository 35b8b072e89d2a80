"""The analyser as the engine sees it: the sender line of a pasted SMS, verdict words."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.explain import AnalysisExplainer, split_sender


@pytest.mark.parametrize(
    ("text", "sender", "body"),
    [
        ("10690123456789\n您的积分即将清零", "10690123456789", "您的积分即将清零"),
        ("+86 138-0013-8000\n我是你领导", "+8613800138000", "我是你领导"),
        ("发件人：95588\n您尾号1234的卡消费", "95588", "您尾号1234的卡消费"),
        ("您的积分即将清零", None, "您的积分即将清零"),
        ("10690123456789", None, "10690123456789"),  # a number alone is the text
        ("验证码 482913\n5分钟内有效", None, "验证码 482913\n5分钟内有效"),
    ],
)
def test_split_sender(text: str, sender: str | None, body: str) -> None:
    assert split_sender(text) == (sender, body)


async def test_an_explanation_is_in_the_persons_language() -> None:
    explainer = AnalysisExplainer()
    text = "10690123456789\n【医保中心】医保卡已冻结，请在24小时内登录 nhsa-gov.cn.xyz 重新认证"
    zh = await explainer.explain(text, None, None, "zh")
    en = await explainer.explain(text, None, None, "en")
    assert zh.verdict == en.verdict == "fraud"
    assert zh.sender == "10690123456789"
    assert zh.title.startswith("⚠️") and "诈骗" in zh.title
    assert "fraud" in en.title.lower()
    assert zh.reasons and en.reasons and zh.reasons != en.reasons
    assert zh.advice and en.advice


CHANGED_NUMBER = "妈，我换了个新号，旧号不用了，存一下这个号"
PAY_HERE = "明天之前帮我转2000过来，急用，回头跟你说"


async def test_a_conversation_is_judged_as_a_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # The rules' reading of a conversation, without the learned model (which now flags each of
    # these two on its own: see the last lines).
    monkeypatch.setattr("bot.analysis._with_model", lambda verdict, found, text: (verdict, found))
    explainer = AnalysisExplainer()
    first = await explainer.explain(CHANGED_NUMBER, None, None, "zh")
    second = await explainer.explain(PAY_HERE, None, None, "zh")
    together = await explainer.explain_conversation([CHANGED_NUMBER, PAY_HERE], "zh")
    assert "fraud" not in (first.verdict, second.verdict)
    assert together.verdict == "fraud"
    assert together.title.startswith("⚠️ 连起来看") and "诈骗" in together.title
    english = await explainer.explain_conversation([CHANGED_NUMBER, PAY_HERE], "en")
    assert english.title.startswith("⚠️ Read together")
    monkeypatch.undo()
    together = await AnalysisExplainer().explain_conversation([CHANGED_NUMBER, PAY_HERE], "zh")
    assert together.verdict == "fraud"


async def test_not_verified_says_what_to_check_in_both_languages() -> None:
    explainer = AnalysisExplainer()
    zh = await explainer.explain("您好，明天下午有空吗", None, None, "zh")
    en = await explainer.explain("您好，明天下午有空吗", None, None, "en")
    assert (zh.verdict, en.verdict) == ("unknown", "unknown")
    assert "未经核实" in zh.title and "谨慎" in zh.title
    assert "Not verified" in en.title and "care" in en.title
    assert any("官方 App" in a for a in zh.advice)
    assert any("official app" in a for a in en.advice)


async def test_a_long_message_is_read_up_to_the_limit_and_says_so() -> None:
    explainer = AnalysisExplainer()
    long = "请把验证码发给我。" + "1." * 20_000
    zh = await explainer.explain(long, None, None, "zh")
    en = await explainer.explain(long, None, None, "en")
    assert zh.verdict == "fraud"
    assert "只检查了前 1,000 个字" in zh.reasons[-1]
    assert "first 1,000 characters" in en.reasons[-1]


async def test_a_check_past_its_budget_is_not_verified_and_the_loop_stays_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    explainer = AnalysisExplainer(budget=0.05)
    real = explainer.explain_now

    def slow(*args: object) -> object:
        release.wait(5)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(explainer, "explain_now", slow)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        for _ in range(3):
            await asyncio.sleep(0)
            ticks += 1

    ticking = asyncio.create_task(tick())
    result = await explainer.explain("请把验证码发给我", None, None, "en")
    release.set()
    await ticking
    assert ticks == 3  # other work ran while the check was stuck
    assert result.verdict == "unknown"
    assert result.reasons == ("The check could not finish in time; please send it again later",)
    assert any("official app" in a for a in result.advice)
