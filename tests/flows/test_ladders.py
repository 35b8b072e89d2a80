"""Where each kind of case goes first, read from the shipped flows: the advice that matters most.

These assert the order a person is told to act in (REVIEW §2): money moved by a scam goes to
the police first; a scam with no money lost is reported at once, beside the anti-fraud line; no
scam waits on a company or carrier first; a business customer of an SMS platform is never sent
to 12315; a 12300 appeal comes only after a complaint to the company it names.
"""

from __future__ import annotations

from typing import Any

import pytest

from flows.definition.ladder import next_rung
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
