"""Where each kind of case goes first, read from the shipped flows: the advice that matters most.

These assert the order a person is told to act in (REVIEW §2): money moved by a scam goes to
the police first; a scam with no money lost is reported at once, beside the anti-fraud line; no
scam waits on a company or carrier first; a business customer of an SMS platform is never sent
to 12315; a 12300 appeal comes only after a complaint to the company it names.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows.definition.ladder import (
    Deadline,
    Rung,
    WeekdayDeadlines,
    applicable,
    last_day,
    next_rung,
    place,
    respondent,
    span,
)
from flows.definition.schema import REMEDIES, Flow, load_flows

FLOWS = load_flows()


def climbed(flow_id: str, answers: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Return (channel, channels at the same time) of every rung the case would climb."""
    flow = FLOWS.get(flow_id)
    assert flow is not None
    rungs, at = [], next_rung(flow.ladder, answers)
    while at is not None:
        rungs.append((flow.ladder[at].channel, flow.ladder[at].also))
        at = next_rung(flow.ladder, answers, at)
    return rungs


MONEY_MOVED = [
    ("sms", {"problem": "fraud", "lost_money": "yes", "carrier": "mobile"}),
    ("calls", {"problem": "fraud", "lost_money": "yes", "carrier": "unicom"}),
    ("scam", {"problem": "money_lost"}),
    ("crypto", {"problem": "scammed"}),
    ("wallet", {"problem": "account_stolen", "provider": "alipay"}),
    ("wallet", {"problem": "account_stolen", "provider": "bank"}),
]


@pytest.mark.parametrize(("flow_id", "answers"), MONEY_MOVED)
def test_money_moved_by_a_scam_goes_to_the_police_first(
    flow_id: str, answers: dict[str, Any]
) -> None:
    (first, also), *_ = climbed(flow_id, answers)
    assert first == "police_110"
    assert "anti_fraud_96110" in also


NO_MONEY = [
    ("sms", {"problem": "fraud", "lost_money": "no", "carrier": "telecom"}, "spam_12321"),
    ("calls", {"problem": "fraud", "lost_money": "no", "carrier": "mobile"}, "anti_fraud_96110"),
    ("scam", {"problem": "contact"}, "anti_fraud_96110"),
    ("scam", {"problem": "link"}, "cac_12377"),
]


@pytest.mark.parametrize(("flow_id", "answers", "channel"), NO_MONEY)
def test_a_scam_is_reported_at_once_with_the_anti_fraud_channels_beside_it(
    flow_id: str, answers: dict[str, Any], channel: str
) -> None:
    (first, also), *rest = climbed(flow_id, answers)
    assert first == channel
    assert {first, *also} >= {"anti_fraud_app"}
    assert {first, *also} & {"anti_fraud_96110", "spam_12321"}
    # The scammer's "support" is never a rung of a scam.
    assert "platform" not in [c for c, _ in [(first, also), *rest]]


def test_a_business_customer_of_an_sms_platform_appeals_to_miit_not_12315() -> None:
    channels = [c for c, _ in climbed("sms", {"problem": "service_poor"})]
    assert channels == ["platform", "miit_12300"]


@pytest.mark.parametrize(
    ("flow_id", "answers"),
    [
        ("sms", {"problem": "spam", "carrier": "mobile"}),
        ("sms", {"problem": "code_missing", "carrier": "unicom"}),
        ("calls", {"problem": "harassment", "carrier": "telecom"}),
        ("calls", {"problem": "info_leak", "carrier": "not_sure"}),
    ],
)
def test_12300_comes_only_after_the_company_it_names(flow_id: str, answers: dict[str, Any]) -> None:
    channels = [c for c, _ in climbed(flow_id, answers)]
    assert "miit_12300" in channels
    below = channels[: channels.index("miit_12300")]
    assert below and below[-1] in {
        "china_mobile",
        "china_unicom",
        "china_telecom",
        "china_broadnet",
        "carrier",
        "platform",
    }


def test_missing_codes_go_first_to_the_app_that_sends_them() -> None:
    channels = [c for c, _ in climbed("sms", {"problem": "code_missing", "carrier": "mobile"})]
    assert channels[0] == "sending_app"


def test_a_bank_goes_to_12378_and_a_payment_app_to_12363() -> None:
    bank = [c for c, _ in climbed("wallet", {"problem": "withdrawal_stuck", "provider": "bank"})]
    app = [c for c, _ in climbed("wallet", {"problem": "withdrawal_stuck", "provider": "alipay"})]
    assert bank == ["bank", "nfra_12378"]
    assert app == ["alipay", "pboc_12363"]


def _problems(flow: Flow) -> list[str]:
    return [o.id for o in flow.steps["problem"].options]


@pytest.mark.parametrize("flow", FLOWS.categories(), ids=lambda f: f.id)
def test_every_problem_is_offered_remedies_and_every_remedy_some_problem(flow: Flow) -> None:
    remedies = flow.steps[REMEDIES]
    offered: set[str] = set()
    for problem in _problems(flow):
        shown = {o.id for o in remedies.shown({"problem": problem})}
        assert shown, (flow.id, problem)
        offered |= shown
    assert offered == {o.id for o in remedies.options}


def test_a_police_letter_never_carries_a_demand_meant_for_the_company() -> None:
    for flow in FLOWS.categories():
        for option in flow.steps[REMEDIES].options:
            if "police" in option.letters:
                assert "return" not in (option.demand or {}).get("en", "").lower(), option.id
    crypto = FLOWS.get("crypto")
    assert crypto is not None
    for remedy in ("return_assets", "complete_withdrawal"):
        option = crypto.steps[REMEDIES].option(remedy)
        assert option is not None and "police" not in option.letters


# ------------------------------------------------ a case's place on its ladder, and who answers

CALLS = FLOWS.get("calls")


def test_a_case_stands_on_the_rung_of_its_index_with_that_rungs_channel() -> None:
    assert CALLS is not None
    index = next(i for i, r in enumerate(CALLS.ladder) if r.channel == "china_mobile")
    rung, channel = place(CALLS.ladder, index, FLOWS.channels)
    assert rung is CALLS.ladder[index]
    assert channel is FLOWS.channels["china_mobile"]


@pytest.mark.parametrize("index", [-1, len(CALLS.ladder) if CALLS else 0, 99])
def test_a_case_off_its_ladder_stands_nowhere(index: int) -> None:
    # A case keeps its rung index; a flow version with a shorter ladder must not crash on it.
    assert CALLS is not None
    assert place(CALLS.ladder, index, FLOWS.channels) == (None, None)


def test_a_rung_whose_channel_is_gone_has_no_channel() -> None:
    rung = Rung("no_such_channel", Deadline(days=3), line=1)
    assert place([rung], 0, FLOWS.channels) == (rung, None)
    assert respondent(rung, {}, FLOWS.channels, "zh") == "no_such_channel"


def test_the_rungs_that_apply_are_the_ones_the_case_climbs_in_order() -> None:
    assert CALLS is not None
    answers = {"problem": "info_leak", "carrier": "unicom"}
    indexes = applicable(CALLS.ladder, answers)
    assert [CALLS.ladder[i].channel for i in indexes][:2] == ["platform", "china_unicom"]
    at, walked = next_rung(CALLS.ladder, answers), []
    while at is not None:
        walked.append(at)
        at = next_rung(CALLS.ladder, answers, at)
    assert indexes == walked


WHO = [
    ({"company": "某某金融"}, "zh", "某某金融"),
    ({"company": {"text": "  Acme Loans  "}}, "en", "Acme Loans"),
    ({"company": "x" * 80}, "en", "x" * 60),
    ({"company": "   "}, "zh", "对方平台或商家"),
    ({}, "en", "the platform or company"),
]


@pytest.mark.parametrize(("answers", "lang", "who"), WHO)
def test_who_must_answer_is_the_name_typed_else_the_channels_name(
    answers: dict[str, Any], lang: str, who: str
) -> None:
    assert CALLS is not None
    rung = next(r for r in CALLS.ladder if r.respondent == "company")
    assert respondent(rung, answers, FLOWS.channels, lang) == who


def test_a_rung_without_a_respondent_step_is_answered_by_its_channel() -> None:
    assert CALLS is not None
    rung = next(r for r in CALLS.ladder if r.channel == "china_mobile")
    assert respondent(rung, {"company": "某某金融"}, FLOWS.channels, "en") == "China Mobile (10086)"


@pytest.mark.parametrize(
    ("deadline", "lang", "words"),
    [
        (Deadline(days=15), "zh", "15 天"),
        (Deadline(days=15), "en", "15 days"),
        (Deadline(working_days=5), "zh", "5 个工作日"),
        (Deadline(working_days=5), "en", "5 working days"),
    ],
)
def test_a_deadline_reads_in_calendar_or_working_days(
    deadline: Deadline, lang: str, words: str
) -> None:
    assert span(deadline, FLOWS.catalog, lang) == words


SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("due_at", "day"),
    [
        # a deadline in days passes at the midnight after its last day (Shanghai time)
        (datetime(2026, 12, 7, 16, 0, tzinfo=UTC), date(2026, 12, 7)),
        # one set in hours (deadline_override) passes during its day
        (datetime(2026, 12, 7, 7, 30, tzinfo=UTC), date(2026, 12, 7)),
        (datetime(2026, 12, 7, 17, 0, tzinfo=UTC), date(2026, 12, 8)),
    ],
)
def test_the_last_day_of_a_stored_deadline(due_at: datetime, day: date) -> None:
    assert last_day(due_at, SHANGHAI) == day


@pytest.mark.parametrize(("days", "working_days"), [(15, 0), (18, 0), (0, 5), (0, 1)])
def test_the_last_day_of_a_deadline_is_the_day_it_was_set_to(days: int, working_days: int) -> None:
    start = datetime(2026, 11, 19, 2, tzinfo=UTC)
    due = WeekdayDeadlines(SHANGHAI).due(start, days=days, working_days=working_days)
    assert last_day(due.at, SHANGHAI) == due.day
