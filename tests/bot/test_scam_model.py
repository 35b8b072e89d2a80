"""The learned message check: the shipped model, its held-out figures, and the hook's rules."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot import scam_model
from bot.analysis import analyse
from bot.analysis_rules import Rules, default_rules
from bot.check_command import describe, read_samples
from bot.scam_model import MODEL_FILE, ModelVerdict, classify, normalise, reason, widen

ROOT = Path(__file__).resolve().parents[2]
HELD_OUT = ROOT / "corpus" / "heldout.tsv"
# The README's held-out figures (development figures: data the project wrote) and the slack
# allowed before this test calls it a regression.
PUBLISHED = {"model_fraud_recall": 0.952, "model_legit_called_fraud": 0.0, "check_recall": 0.918}
MARGIN = 0.03

SCAM = "您好，我是市公安局民警，您的账户涉嫌洗钱，请马上将资金转入安全账户配合调查，不要告诉家人"
NOTICE = "【中国银行】您尾号1234的储蓄卡11月3日14:20支出人民币120.00元，余额3521.30元。"
AD = "鲜丰水果周年庆，全场8折起，满100减20，11月1日至3日，欢迎光临"


def opinion(fraud: float, marketing: float, legit: float, chars: int = 40) -> ModelVerdict:
    """Return a model verdict with these probabilities, as if the model had said so."""
    probabilities = {"fraud": fraud, "marketing": marketing, "legit": legit}
    label = max(probabilities, key=lambda k: probabilities[k])
    return ModelVerdict(label, probabilities, ("安全账户", "转账"), chars)


# (rules' verdict, model's probabilities fraud/marketing/legit, text length, verdict after)
WIDEN = [
    ("fraud", (0.01, 0.01, 0.98), 40, "fraud"),  # the model never clears a rule's fraud
    ("fraud", (0.01, 0.98, 0.01), 40, "fraud"),
    ("unknown", (0.01, 0.01, 0.98), 40, "unknown"),  # ... and never says "looks legitimate"
    ("marketing", (0.0, 0.0, 1.0), 40, "marketing"),
    ("unknown", (0.75, 0.05, 0.20), 40, "fraud"),  # coverage: what the rules could not tell
    ("unknown", (0.65, 0.05, 0.30), 40, "unknown"),  # not sure enough
    ("unknown", (0.10, 0.75, 0.15), 40, "marketing"),
    ("unknown", (0.10, 0.65, 0.25), 40, "unknown"),
    ("legit", (0.80, 0.10, 0.10), 40, "legit"),  # overruling the rules needs more certainty
    ("legit", (0.90, 0.05, 0.05), 40, "fraud"),  # a spoofed official sender with a scam text
    ("marketing", (0.90, 0.05, 0.05), 40, "fraud"),  # a scam that also says 回T退订
    ("legit", (0.05, 0.90, 0.05), 40, "legit"),  # marketing never overrules the rules
    ("unknown", (0.99, 0.0, 0.01), 5, "unknown"),  # "hello": too short to judge
]


@pytest.mark.parametrize(("rules", "probabilities", "chars", "after"), WIDEN)
def test_the_model_adds_warnings_and_never_clears_one(
    rules: str, probabilities: tuple[float, float, float], chars: int, after: str
) -> None:
    assert widen(rules, opinion(*probabilities, chars=chars)) == after


def rules_that_never_decide() -> Rules:
    """Return the shipped rules with thresholds no message reaches: every verdict is the model's."""
    rules = default_rules()
    return dataclasses.replace(rules, thresholds=dict.fromkeys(rules.thresholds, 1000.0))


def test_a_verdict_from_the_model_alone_names_the_words_that_weighed_most() -> None:
    analysis = analyse(SCAM, rules=rules_that_never_decide())
    assert analysis.verdict == "fraud"
    said = analysis.findings[0]
    assert said.id == "model_fraud"
    assert said.words["zh"].startswith("学习模型判断：这条短信很像常见的诈骗短信")
    assert "最起作用的词是「" in said.words["zh"]
    assert "weighed most" in said.words["en"]
    shown = describe(analysis, "en")
    assert shown.startswith("Likely fraud")
    assert "The learned model: this reads like the usual scam messages" in shown
    assert "Don't call the number" not in shown  # no phone number in the message


def test_the_model_alone_never_makes_a_message_look_legitimate() -> None:
    assert classify(NOTICE).label == "legit"  # the model does think so ...
    analysis = analyse(NOTICE, rules=rules_that_never_decide())
    assert analysis.verdict == "unknown"  # ... but the verdict stays "can't tell"
    assert not [f for f in analysis.findings if f.id.startswith("model_")]


def test_a_rules_fraud_verdict_survives_a_model_that_disagrees() -> None:
    rules = default_rules()
    eager = dataclasses.replace(rules, thresholds={**rules.thresholds, "fraud": 0.0})
    assert classify(NOTICE).probabilities["fraud"] < 0.5
    assert analyse(NOTICE, rules=eager).verdict == "fraud"


def test_the_model_turns_a_shop_ad_the_rules_missed_into_marketing() -> None:
    analysis = analyse(AD, rules=rules_that_never_decide())
    assert analysis.verdict == "marketing"
    assert (
        analysis.findings[0].words["en"].startswith("The learned model: this reads like marketing")
    )


def test_the_reason_reads_without_terms_when_none_stand_out() -> None:
    words = reason("fraud", ModelVerdict("fraud", {"fraud": 0.8}, (), 30))
    assert words == {
        "zh": "学习模型判断：这条短信很像常见的诈骗短信（把握约 80%）。",
        "en": "The learned model: this reads like the usual scam messages (about 80% sure).",
    }


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("请加客 服 微 信", "请加客服微信"),  # spaces that split Chinese words go
        ("Ｖ信ＡＢＣ１２３", "v信abc000"),  # full-width to ASCII, lower case, digits to 0
        ("call  me   now", "call me now"),
    ],
)
def test_the_model_reads_spaced_and_full_width_text_as_plain(text: str, read: str) -> None:
    assert normalise(text)[0] == read


def test_the_words_shown_are_the_messages_own_words() -> None:
    verdict = classify(SCAM)
    assert verdict.label == "fraud"
    assert verdict.top_terms
    for term in verdict.top_terms:
        assert term in SCAM  # as the person wrote it, not the normalised n-grams


def test_the_shipped_model_is_small_versioned_json() -> None:
    assert MODEL_FILE.stat().st_size < 2 * 1024 * 1024
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert data["labels"] == ["fraud", "marketing", "legit"]
    assert len(data["idf"]) == len(data["terms"].split("\n")) == len(data["weights"][0])


def test_the_shipped_model_holds_its_published_held_out_figures() -> None:
    samples = read_samples(HELD_OUT)
    fraud = [s for s in samples if s.label == "fraud"]
    legit = [s for s in samples if s.label == "legit"]
    model_recall = sum(classify(s.text).label == "fraud" for s in fraud) / len(fraud)
    false_alarms = sum(classify(s.text).label == "fraud" for s in legit) / len(legit)
    check_recall = sum(analyse(s.text).verdict == "fraud" for s in fraud) / len(fraud)
    assert model_recall >= PUBLISHED["model_fraud_recall"] - MARGIN
    assert false_alarms <= PUBLISHED["model_legit_called_fraud"] + MARGIN
    assert check_recall >= PUBLISHED["check_recall"] - MARGIN


def test_the_committed_corpus_is_what_the_generator_writes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "corpus" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_retraining_on_the_corpus_reproduces_the_shipped_model(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="the train extra is not installed")
    from bot.scam_training import main as train

    out = tmp_path / "model.json"
    assert train(["--out", str(out), "--quiet"]) == 0
    again = scam_model.load(out)
    samples = read_samples(HELD_OUT)
    same = sum(classify(s.text, again).label == classify(s.text).label for s in samples)
    assert same == len(samples)
