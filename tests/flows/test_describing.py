"""Telling a person's own story from a message they pasted, and the category it names."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_chat import FLOWS

from flows.definition.schema import DEFINITIONS, load_flows
from flows.errors import FlowError

ORDER = [flow.id for flow in FLOWS.categories()]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我的支付宝提现三天了还没到账，客服也一直不回复", "wallet"),
        ("你好，我的微信钱包被冻结了，怎么办", "wallet"),  # a greeting addresses no reader
        ("我每天都接到机器人打来的推销电话", "calls"),
        ("我收到好多贷款广告短信，退订了还在发", "sms"),
        ("我在币安提币一个星期了还没到", "crypto"),
        ("My Alipay withdrawal has been pending for three days", "wallet"),
        ("Can you help? My Binance withdrawal is stuck", "crypto"),
        ("I get robocalls every morning", "calls"),
        ("I keep getting texts from 10690123456789", "sms"),
        # first person, but no category named: not taken for a description
        ("我想投诉一下我家楼下的店", None),
        ("妈，我换手机号了，这是我的新号码，急用钱，先转我3000", None),
        # messages: a signature, a sender line, or talking to their reader
        ("【某某银行】您尾号1234的卡11月21日消费人民币256.00元", None),
        ("发件人：10690000\n我行提醒您及时还款", None),
        ("10690123456789\n我司新品上市，回T退订", None),
        ("尊敬的用户，我是京东客服，您的百万保障即将扣费", None),
        ("小王，我是你们刘局，我在开会，有个急事需要你帮忙转笔钱给一个朋友，先加我QQ", None),
        ("Your parcel is held at customs, pay at http://x.example.com", None),
        ("From: Amazon\nI noticed a problem with my order payment", None),
        ("兼职刷单，日结佣金300元，点赞关注即可", None),
    ],
)
def test_what_a_description_is_about(text: str, category: str | None) -> None:
    assert FLOWS.describing.about(text, ORDER) == category


def test_a_word_counts_whole_in_latin_script() -> None:
    # "i" and "me" must not be found inside "bill" or "some": this is no story of "me".
    assert not FLOWS.describing.in_first_person("Some bill is due, pay it now at the link")


def copy_definitions(tmp_path: Path, common: str) -> Path:
    for path in DEFINITIONS.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "common.yaml").write_text(common, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("    en: [i, ", "    fr: [je]\n    xx: [i, ", "describing.first_person: unknown language"),
        (
            "  addressed:\n    zh: [您, 你, 尊敬的, 亲爱的用户]\n",
            "  addressed:\n    zh: 您\n",
            "describing.addressed: expected a list of words for 'zh'",
        ),
        ("  categories:\n", "  keywords: {}\n  categories:\n", "describing.keywords: unknown key"),
    ],
)
def test_a_broken_describing_section_is_reported(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    common = (DEFINITIONS / "common.yaml").read_text(encoding="utf-8")
    assert old in common
    with pytest.raises(FlowError) as caught:
        load_flows(copy_definitions(tmp_path, common.replace(old, new, 1)))
    found = [str(p) for p in caught.value.problems]
    assert any(p.startswith("common.yaml:") and problem in p for p in found), found
