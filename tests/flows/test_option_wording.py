"""The bot names choices as options, not buttons, where it tells people how to answer.

On WeChat and the console people pick from a list or type; there is no button. Each hint that
names the choices is read here as the person gets it, in Chinese and English.
"""

from __future__ import annotations

import pytest
from engine_chat import Person, walk_sms_to_evidence

HINTS = {
    "summary": {"zh": "要改哪一项，就选那一项。", "en": "to change an answer, choose it."},
    "suggest": {
        "zh": "选第一项；不是的话，选别的类别。",
        "en": "Choose the first option, or another",
    },
    "help": {"zh": "每个问题都可以点「上一步」返回修改", "en": "Every question has a Back option"},
}
DONE = {"zh": "完成", "en": "Done"}


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_the_summary_says_to_choose_the_answer_to_change(
    alice: Person, language: str
) -> None:
    await walk_sms_to_evidence(alice)
    await alice.press("跳过")  # no screenshot
    await alice.press("停止给我发短信")
    await alice.send(f"/lang {language}")
    await alice.press(DONE[language])
    assert HINTS["summary"][language] in alice.text, alice.text
    assert "按钮" not in alice.text and "button" not in alice.text.lower()


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_help_and_a_suggested_category_name_options(alice: Person, language: str) -> None:
    await alice.send(f"/lang {language}")
    await alice.send("/help")
    assert HINTS["help"][language] in alice.text, alice.text
    await alice.send("我的支付宝提现三天了还没到账，客服也一直不回复")
    assert HINTS["suggest"][language] in alice.text, alice.text
    assert "按钮" not in alice.text and "button" not in alice.text.lower()
