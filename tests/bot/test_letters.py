"""Complaint letters: golden letters per category and language, and the data they are made of.

The golden files under tests/bot/letters/ were reviewed by hand. After a deliberate change to the
templates or the flows, regenerate them with `UPDATE_GOLDEN=1 pytest tests/bot/test_letters.py`
and review the diff before committing it.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jinja2.exceptions import SecurityError

from bot.config import ConfigError
from bot.letters import Templates, without_lead, write_letter
from flows.definition.ladder import next_rung
from flows.definition.schema import REMEDIES, FlowSet, load_flows
from flows.errors import LetterError
from flows.records import CaseEvent, CaseRecord, EvidenceRecord, Profile

GOLDEN = Path(__file__).parent / "letters"
TZ = ZoneInfo("Asia/Shanghai")
FILED = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2026, 11, 22)
PROFILE = Profile("张三", "13800138000", asked=True)

ANSWERS: dict[str, dict[str, Any]] = {
    "sms": {
        "problem": "spam",
        "sender": {"text": "1069 0123 4567 89", "number": "10690123456789", "kind": "106"},
        "sender_type": "industry_national",
        "started": {"text": "11月3日", "date": "2026-11-03"},
        "frequency": "daily",
        "content": "【优选商城】双11特惠，全场5折！点击 https://t.cn/A6x 领券，回T退订",
        "td_reply": "continued",
        "td_date": {"text": "11月5日", "date": "2026-11-05"},
        "received": "共 20 条，最近一条 11月21日 9:14",
        "carrier": "mobile",
        "my_number": {"text": "13900139000", "numbers": ["+8613900139000"]},
        "remedies": {"selected": ["stop_sending", "delete_my_number"], "other": None},
    },
    "calls": {
        "problem": "harassment",
        "numbers": {
            "text": "02112345678, 13912345678",
            "numbers": ["+862112345678", "+8613912345678"],
        },
        "call_times": "工作日上午 9 点到 11 点，从上周一开始",
        "frequency": "many_daily",
        "what_said": "推销贷款，知道我的名字和工作单位。",
        "company": "某某金融",
        "refused": "refused_continued",
        "refused_on": {"text": "11月16日", "date": "2026-11-16"},
        "carrier": "unicom",
        "my_number": {"text": "13900139000", "numbers": ["+8613900139000"]},
        "remedies": {"selected": ["stop_calling", "delete_my_data", "explain_data_source"]},
    },
    "wallet": {
        "problem": "withdrawal_stuck",
        "secured": {"selected": ["none_yet"]},
        "provider": "other_app",
        "platform": "某某钱包",
        "account": "绑定手机 139****9000，银行卡尾号 1234",
        "amount": {"text": "¥1,234.50", "amount": "1234.50", "currency": "CNY"},
        "transaction_id": {"text": "TX20261118001", "id": "TX20261118001"},
        "happened_on": {"text": "11月18日", "date": "2026-11-18"},
        "story": "11月18日申请提现到银行卡，显示审核中，四天了还没到账。",
        "contacted": "no_reply",
        "remedies": {
            "selected": ["complete_withdrawal", "explanation"],
            "other": "补偿延迟期间的利息",
        },
    },
    "crypto": {
        "problem": "withdrawal_stuck",
        "platform": "SomeExchange",
        "uid": "88001234",
        "amount": {"text": "1200 USDT", "amount": "1200", "currency": "USDT"},
        "withdrawal_on": {"text": "11月9日", "date": "2026-11-09"},
        "to_address": "TRC20 TXyZ1234abcd",
        "txid": None,
        "first_contact": {"text": "11月10日", "date": "2026-11-10"},
        "support_said": "11月10日客服说24小时内处理，之后一直没有回复。",
        "remedies": {"selected": ["complete_withdrawal", "clear_answer"]},
    },
    "other": {
        "problem": "product",
        "respondent": "某某家电旗舰店",
        "respondent_address": "某某电商平台上的“某某家电旗舰店”",
        "what_happened": "买的空调装好第二天就不制冷，商家一直推说等售后。",
        "happened_on": {"text": "11月1日", "date": "2026-11-01"},
        "amount": {"text": "2999", "amount": "2999", "currency": "CNY"},
        "order_id": {"text": "DD20261101001", "id": "DD20261101001"},
        "remedies": {"selected": ["fix_problem", "refund"]},
    },
    "scam": {
        "problem": "money_lost",
        "scammer": "QQ 12345678（自称“某某电商客服”），收款账户 张某 6222 0202 0202 0202",
        "happened_on": {"text": "11月20日", "date": "2026-11-20"},
        "what_happened": "对方自称客服，说我误开了会员要扣费，让我下载会议软件共享屏幕，转走了钱。",
        "amount": {"text": "8000", "amount": "8000", "currency": "CNY"},
        "paid_to": "11月20日 15:02 转账 8,000 元到 张某 6222020202020202 工商银行",
        "froze": "police_only",
        "remedies": {"selected": ["block_scammer"]},
    },
}


def first_rung(flows: FlowSet, flow_id: str, answers: dict[str, Any]) -> int:
    flow = flows.get(flow_id)
    assert flow is not None
    index = next_rung(flow.ladder, answers)
    assert index is not None
    return index


def rung_of(flows: FlowSet, flow_id: str, channel: str) -> int:
    flow = flows.get(flow_id)
    assert flow is not None
    return next(i for i, r in enumerate(flow.ladder) if r.channel == channel)


FLOWS = load_flows()


@pytest.fixture(scope="module")
def flows() -> FlowSet:
    return FLOWS


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates()


def a_case(flow_id: str, lang: str, **changes: Any) -> CaseRecord:
    answers = changes.get("answers", ANSWERS[flow_id])
    evidence = [
        EvidenceRecord(
            "d1",
            "evidence",
            "photo",
            "ab" * 32,
            "evidence/ab/ab/x",
            2048,
            created_at=datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
        ),
        EvidenceRecord(
            "d1",
            "evidence",
            "document",
            "cd" * 32,
            "evidence/cd/cd/y",
            4096,
            file_name="record.pdf",
            mime_type="application/pdf",
            created_at=datetime(2026, 11, 21, 12, 5, tzinfo=UTC),
        ),
    ]
    fields: dict[str, Any] = {
        "number": f"{flow_id.upper()}-2026-000001",
        "user": "telegram:1",
        "category": flow_id,
        "problem": answers["problem"],
        "state": "waiting",
        "flow_id": flow_id,
        "flow_version": FLOWS.get(flow_id).version,  # type: ignore[union-attr]
        "language": lang,
        "answers": answers,
        "remedies": list(answers["remedies"]["selected"]),
        "created_at": FILED,
        "updated_at": FILED,
        "evidence": evidence,
        "events": [CaseEvent("filed", FILED)],
        "rung": first_rung(FLOWS, flow_id, answers),
        "due_at": datetime(2026, 12, 7, 16, 0, tzinfo=UTC),  # midnight after 7 December
    }
    fields.update(changes)
    return CaseRecord(**fields)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("flow_id", sorted(ANSWERS))
def test_each_category_writes_the_reviewed_letter(
    flows: FlowSet, templates: Templates, flow_id: str, lang: str
) -> None:
    letter = write_letter(
        a_case(flow_id, lang), flows, templates, lang=lang, profile=PROFILE, today=TODAY, tz=TZ
    )
    for suffix, text in ((".txt", letter.text), (".md", letter.markdown)):
        path = GOLDEN / f"{flow_id}.{lang}{suffix}"
        if os.environ.get("UPDATE_GOLDEN"):
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"{path.name} differs"


def test_every_remedy_and_every_channel_has_letter_wording_in_both_languages(
    flows: FlowSet,
) -> None:
    remedies = [
        (flow.id, option) for flow in flows.categories() for option in flow.steps[REMEDIES].options
    ]
    assert len(remedies) >= 25
    for flow_id, option in remedies:
        assert option.demand is not None, (flow_id, option.id)
        assert all(option.demand.get(lang, "").strip() for lang in ("zh", "en")), option.id
    assert len(flows.channels) >= 17
    for channel in flows.channels.values():
        for texts in (channel.name, channel.addressee, channel.how, channel.include):
            assert all(texts.get(lang, "").strip() for lang in ("zh", "en")), channel.id
    for law in flows.laws.values():
        assert all(law.cite[lang] and law.says[lang] for lang in ("zh", "en")), law.id


def test_every_law_names_flows_and_options_that_exist(flows: FlowSet) -> None:
    latest = flows.categories()
    for law in flows.laws.values():
        assert law.flows <= {f.id for f in latest}, law.id
        for key, values in law.when.items():
            options = {o.id for f in latest if (step := f.steps.get(key)) for o in step.options}
            assert values <= options, (law.id, key, values - options)


def test_the_letter_cites_the_laws_that_fit_and_no_others(
    flows: FlowSet, templates: Templates
) -> None:
    spam = write_letter(
        a_case("sms", "zh"), flows, templates, lang="zh", profile=PROFILE, today=TODAY, tz=TZ
    )
    assert "《通信短信息服务管理规定》（2015）" in spam.text
    assert "《民法典》第一千零三十二条、第一千零三十三条" in spam.text
    assert "《个人信息保护法》第十五条、第四十七条" in spam.text  # they asked to delete it
    assert "第四十四条" not in spam.text  # they did not ask where the number came from
    assert "《电信用户申诉处理办法》第十条第（四）项" in spam.text  # the appeal trigger
    assert "应当在15日内答复" not in spam.text  # art. 10 sets no carrier duty (REVIEW C15)
    assert "138号" not in spam.text  # a campaign plan, not a law (REVIEW L8)
    fraud_answers = {
        **ANSWERS["sms"],
        "problem": "fraud",
        "remedies": {"selected": ["stop_sending"]},
    }
    fraud_answers["lost_money"] = "no"
    fraud = write_letter(
        a_case("sms", "zh", answers=fraud_answers, problem="fraud"),
        flows,
        templates,
        lang="zh",
        profile=PROFILE,
        today=TODAY,
        tz=TZ,
    )
    assert "通信短信息服务管理规定" not in fraud.text  # a scam is not a marketing text
    assert "个人信息保护法" not in fraud.text
    assert fraud.channel == "spam_12321"  # reported at once, not a wait on the carrier
    product = write_letter(
        a_case("other", "zh"), flows, templates, lang="zh", profile=PROFILE, today=TODAY, tz=TZ
    )
    assert "《消费者权益保护法》第二十四条" in product.text  # repair, replace, return
    assert "第五十五条" not in product.text  # no deception alleged (REVIEW L3)
    deceived = {**ANSWERS["other"], "remedies": {"selected": ["fraud_compensation"]}}
    tricked = write_letter(
        a_case("other", "zh", answers=deceived),
        flows,
        templates,
        lang="zh",
        profile=PROFILE,
        today=TODAY,
        tz=TZ,
    )
    assert "《消费者权益保护法》第五十五条" in tricked.text


def test_an_escalated_letter_is_an_appeal_that_tells_the_history(
    flows: FlowSet, templates: Templates
) -> None:
    sent = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    no_answer = datetime(2026, 12, 9, 1, 0, tzinfo=UTC)
    events = [
        CaseEvent("filed", FILED),
        CaseEvent("deadline_set", FILED, {"channel": "china_mobile", "day": "2026-12-07"}),
        CaseEvent("sent", sent, {"channel": "china_mobile", "ticket": "1120123456"}),
        CaseEvent("no_answer", no_answer, {"channel": "china_mobile"}),
        CaseEvent("escalated", no_answer, {"channel": "miit_12300", "day": "2027-01-08"}),
    ]
    appeal = rung_of(flows, "sms", "miit_12300")
    case = a_case(
        "sms", "zh", rung=appeal, events=events, due_at=datetime(2027, 1, 8, 16, 0, tzinfo=UTC)
    )
    letter = write_letter(case, flows, templates, lang="zh", profile=PROFILE, today=TODAY, tz=TZ)
    assert letter.channel == "miit_12300"
    assert letter.text.startswith("申诉书：号码 10690123456789 发送垃圾短信")
    assert "致：工业和信息化部电信用户申诉受理中心" in letter.text
    # 12300 hears disputes with the carrier: the carrier is the respondent (REVIEW §2 item 4).
    assert "被申诉人：中国移动（10086）" in letter.text
    # The day the person said they complained, with the ticket; not the day the bot filed it.
    assert "2026年11月23日，我就此事向中国移动（10086）投诉（工单号 1120123456）。" in letter.text
    assert "2026年11月22日，我就此事" not in letter.text
    assert "截至2026年12月9日，中国移动（10086）没有答复，没有解决问题。" in letter.text
    assert "1. 依法受理本申诉。" in letter.text
    assert "请于2027年1月8日前答复。" in letter.text
    earlier = write_letter(
        case, flows, templates, lang="zh", profile=PROFILE, today=TODAY, tz=TZ, rung=appeal - 5
    )
    assert earlier.channel == "china_mobile"
    assert "请于2026年12月7日前答复。" in earlier.text  # its own deadline


def test_a_letter_to_an_earlier_rung_is_dated_the_day_the_case_reached_it(
    flows: FlowSet, templates: Templates
) -> None:
    escalated = datetime(2026, 12, 9, 1, 0, tzinfo=UTC)
    events = [
        CaseEvent("filed", FILED),
        CaseEvent("deadline_set", FILED, {"channel": "china_mobile", "day": "2026-12-07"}),
        CaseEvent("escalated", escalated, {"channel": "miit_12300", "day": "2027-01-08"}),
    ]
    appeal = rung_of(flows, "sms", "miit_12300")
    case = a_case("sms", "zh", rung=appeal, events=events)
    later = date(2027, 1, 20)
    earlier = write_letter(
        case, flows, templates, lang="zh", profile=PROFILE, today=later, tz=TZ, rung=appeal - 5
    )
    assert earlier.channel == "china_mobile"
    assert earlier.text.rstrip().endswith("2026年11月22日")  # filed there, not re-dated today
    current = write_letter(case, flows, templates, lang="zh", profile=PROFILE, today=later, tz=TZ)
    assert current.text.rstrip().endswith("2027年1月20日")


def test_a_short_report_is_the_exact_text_ready_to_send(
    flows: FlowSet, templates: Templates
) -> None:
    case = a_case("sms", "en", rung=rung_of(flows, "sms", "spam_12321"))
    letter = write_letter(case, flows, templates, lang="en", profile=PROFILE, today=TODAY, tz=TZ)
    assert letter.short is not None
    assert letter.short.to == "12321"
    assert letter.short.text == "10690123456789*" + ANSWERS["sms"]["content"]
    assert letter.short.unconfirmed is not None and "unofficial sources" in letter.short.unconfirmed
    # A text about missing codes has no message to quote: no short report rather than half of one.
    codes = {
        "problem": "code_missing",
        "service": "某银行 App",
        "started": ANSWERS["sms"]["started"],
        "carrier": "mobile",
        "remedies": {"selected": ["restore_codes"]},
    }
    missing = write_letter(
        a_case("sms", "en", answers=codes, rung=rung_of(flows, "sms", "sending_app")),
        flows,
        templates,
        lang="en",
        profile=PROFILE,
        today=TODAY,
        tz=TZ,
    )
    assert missing.short is None
    assert "Complaint: verification texts from 某银行 App do not arrive" in missing.text


def test_without_a_name_the_letter_says_how_to_reply_and_is_unsigned(
    flows: FlowSet, templates: Templates
) -> None:
    letter = write_letter(
        a_case("wallet", "en"),
        flows,
        templates,
        lang="en",
        profile=Profile(asked=True),
        today=TODAY,
        tz=TZ,
    )
    assert (
        "From: (name and phone not given in this letter; please reply through this channel)"
        in letter.text
    )
    assert "(unsigned)" in letter.text
    assert "13800138000" not in letter.text


def test_what_people_typed_stays_text_in_markdown(flows: FlowSet, templates: Templates) -> None:
    answers = {**ANSWERS["other"], "what_happened": "# not a heading *not bold* [link](x)"}
    letter = write_letter(
        a_case("other", "en", answers=answers),
        flows,
        templates,
        lang="en",
        profile=PROFILE,
        today=TODAY,
        tz=TZ,
    )
    assert "What happened: # not a heading *not bold* [link](x)" in letter.text
    assert r"What happened: \# not a heading \*not bold\* \[link\](x)" in letter.markdown
    assert letter.markdown.startswith("# Complaint: ")


def test_a_template_is_sandboxed(tmp_path: Path, flows: FlowSet) -> None:
    for name in ("letter.zh.j2", "letter.en.j2", "generic.zh.j2", "generic.en.j2"):
        (tmp_path / name).write_text("{{ f.__class__.__mro__ }}\n", encoding="utf-8")
    templates = Templates(tmp_path)
    with pytest.raises(LetterError, match="unsafe") as raised:
        write_letter(
            a_case("other", "en"), flows, templates, lang="en", profile=PROFILE, today=TODAY, tz=TZ
        )
    assert isinstance(raised.value.__cause__, SecurityError)


def test_a_broken_template_is_reported_with_its_name_and_line(
    tmp_path: Path, flows: FlowSet
) -> None:
    for name in ("letter.zh.j2", "letter.en.j2", "generic.zh.j2"):
        (tmp_path / name).write_text("ok\n", encoding="utf-8")
    (tmp_path / "generic.en.j2").write_text("line one\n{% if %}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^generic\.en\.j2:2: "):
        Templates(tmp_path).check(flows)


@pytest.mark.parametrize(
    ("answer", "leads", "shown"),
    [
        ("UID 88001234", ("UID", "ID"), "88001234"),
        ("uid：88001234", ("UID", "ID"), "88001234"),
        ("ID: 88001234", ("UID", "ID"), "88001234"),
        ("IDEA-7", ("UID", "ID"), "IDEA-7"),  # a word that starts like the lead stays whole
        ("UID", ("UID", "ID"), "UID"),  # nothing after the lead: keep what they typed
        ("88001234", ("UID", "ID"), "88001234"),
        ("自称来自某某金融", ("自称来自", "自称是", "自称", "来自"), "某某金融"),
        ("自称是某某金融", ("自称来自", "自称是", "自称", "来自"), "某某金融"),
    ],
)
def test_an_answer_that_echoes_the_question_is_not_said_twice(
    answer: str, leads: tuple[str, ...], shown: str
) -> None:
    assert without_lead(answer, *leads) == shown
