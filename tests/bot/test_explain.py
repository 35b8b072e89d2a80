"""The analyser as the engine sees it: the sender line of a pasted SMS, verdict words."""

from __future__ import annotations

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


def test_an_explanation_is_in_the_persons_language() -> None:
    explainer = AnalysisExplainer()
    text = "10690123456789\n【医保中心】医保卡已冻结，请在24小时内登录 nhsa-gov.cn.xyz 重新认证"
    zh = explainer.explain(text, None, None, "zh")
    en = explainer.explain(text, None, None, "en")
    assert zh.verdict == en.verdict == "fraud"
    assert zh.sender == "10690123456789"
    assert zh.title.startswith("⚠️") and "诈骗" in zh.title
    assert "fraud" in en.title.lower()
    assert zh.reasons and en.reasons and zh.reasons != en.reasons
    assert zh.advice and en.advice
