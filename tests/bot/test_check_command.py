"""`complaint-bot check`: one message as text or JSON, and the evaluation of a labelled file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.__main__ import main

EVAL_FILE = Path(__file__).parents[1] / "data" / "sms_eval.tsv"
SCAM = "【工商银行】您的账户异常，将于24小时内冻结，请登录 icbc-verify.top 认证"


def test_check_json_is_one_object_with_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", SCAM, "--sender", "+63 917 123 4567", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {
        "verdict", "findings", "advice", "sender", "sender_type", "urls", "phones", "scores",
        "cut",
    }  # fmt: skip
    assert data["verdict"] == "fraud"
    assert data["sender"] == "+639171234567"
    assert data["sender_type"] == "overseas"
    assert data["urls"] == ["icbc-verify.top"]
    assert set(data["scores"]) == {"fraud", "marketing", "legit"}
    lookalike = next(f for f in data["findings"] if f["id"] == "link_lookalike")
    assert set(lookalike) == {"id", "kind", "weight", "words", "detail", "role", "evidence"}
    assert lookalike["kind"] == "fraud"
    assert lookalike["detail"] == "icbc-verify.top"
    assert "icbc.com.cn" in lookalike["words"]["zh"]
    assert data["advice"][0] == "dont_click"


def test_check_prints_verdict_reasons_and_advice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", SCAM]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "可能是诈骗"
    assert "- 链接 icbc-verify.top 冒充官方网站，官方域名是 icbc.com.cn" in lines
    assert "- 限时催促：要求在 24 小时内处理——骗子用期限让人来不及多想" in lines
    assert "建议:" in lines
    assert any("12321" in line and "未经官方确认" in line for line in lines)


def test_check_in_english(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "您的验证码是 123456，请勿泄露给他人。", "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Looks legitimate"
    assert "Why:" in lines and "What to do:" in lines


def test_check_unknown_for_an_empty_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["verdict"], data["findings"]) == ("unknown", [])


def test_check_needs_text_or_eval(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert "give either a message TEXT or --eval FILE" in capsys.readouterr().err


SMALL_EVAL = """\
# a comment, then a blank line

fraud\t-\t我是客服，请把手机收到的验证码发给我，帮您办理退款
fraud\t+639171234567\t【工商银行】您的账户异常，请登录 icbc-verify.top 认证
fraud\thello
marketing\t10660000123\t【优衣库】夏季上新，全场低至5折，回T退订
marketing\t您的验证码是 123456，请勿泄露给他人。
legit\t95533\t【建设银行】您尾号1234的储蓄卡消费人民币128.00元，余额5,432.10元。
legit\t-\t您的验证码是 654321，请勿泄露给他人。
"""


def test_eval_counts_the_confusion_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "small.tsv"
    path.write_text(SMALL_EVAL, encoding="utf-8")
    assert main(["check", "--eval", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["count"] == 7
    assert data["confusion"] == {
        "fraud": {"fraud": 2, "marketing": 0, "legit": 0, "unknown": 1},
        "marketing": {"fraud": 0, "marketing": 1, "legit": 1, "unknown": 0},
        "legit": {"fraud": 0, "marketing": 0, "legit": 2, "unknown": 0},
    }
    assert data["labels"]["fraud"] == {"precision": 1.0, "recall": 0.6667, "count": 3}
    assert data["labels"]["marketing"] == {"precision": 1.0, "recall": 0.5, "count": 2}
    assert data["labels"]["legit"] == {"precision": 0.6667, "recall": 1.0, "count": 2}
    assert data["accuracy"] == 0.7143
    assert data["ms_per_message"] >= 0


def test_eval_prints_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "small.tsv"
    path.write_text(SMALL_EVAL, encoding="utf-8")
    assert main(["check", "--eval", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["label", "precision", "recall", "count"]
    assert lines[1].split() == ["fraud", "1.000", "0.667", "3"]
    assert "accuracy: 0.714 (7 messages)" in lines
    assert lines[lines.index("confusion (rows: true label, columns: predicted)") + 2].split() == [
        "fraud", "2", "0", "0", "1",
    ]  # fmt: skip
    assert lines[-1].startswith("time: ") and lines[-1].endswith(" ms per message")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("spam\t-\thello", "label must be one of fraud, marketing, legit, got 'spam'"),
        ("fraud", "expected label<TAB>text or label<TAB>sender<TAB>text, got 1 field(s)"),
        (
            "fraud\t-\tone\ttoo many",
            "expected label<TAB>text or label<TAB>sender<TAB>text, got 4 field(s)",
        ),
        ("legit\t-\t  ", "empty message text"),
    ],
    ids=["label", "one-field", "four-fields", "empty-text"],
)
def test_eval_malformed_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(f"# header\nfraud\t-\t我是客服，请把验证码发给我\n{line}\n", encoding="utf-8")
    assert main(["check", "--eval", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"{path}:3: {message}\n"
    assert captured.out == ""


def test_eval_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--eval", str(tmp_path / "none.tsv")]) == 1
    assert str(tmp_path / "none.tsv") in capsys.readouterr().err


# Floors on the development set, a little below what the rules measured (all 1.00 but legit
# recall 0.95 on 389 messages: personal messages and warnings from 106 numbers are "not
# verified" by design, as "looks legitimate" needs positive evidence). The rules were written
# against this set, so these guard against regressions rather than promise the same accuracy
# on new messages; tests/data/sms_heldout.tsv is the held-out set.
FLOORS = {
    ("fraud", "precision"): 0.95,
    ("fraud", "recall"): 0.95,
    ("marketing", "precision"): 0.95,
    ("marketing", "recall"): 0.95,
    ("legit", "precision"): 0.95,
    ("legit", "recall"): 0.93,
}


def test_eval_reads_both_line_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        "fraud\t请把验证码发给我",
        "legit\t95533\t【建设银行】您尾号1234的储蓄卡消费人民币128.00元，余额5,432.10元。",
        "marketing\t-\t【优衣库】夏季上新，全场低至5折，回T退订",
    ]
    path = tmp_path / "mixed.tsv"
    path.write_text("\n".join(lines), encoding="utf-8")
    assert main(["check", "--eval", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["confusion"]) == {"fraud", "marketing", "legit"}
    for row in data["confusion"].values():
        assert set(row) == {"fraud", "marketing", "legit", "unknown"}
    assert [data["confusion"][k][k] for k in ("fraud", "legit", "marketing")] == [1, 1, 1]


def test_check_reads_a_long_text_up_to_the_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "请把验证码发给我。" + "1." * 16_000, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "fraud" and data["cut"] is True
    assert main(["check", "请把验证码发给我。" + "1." * 16_000, "--lang", "en"]) == 0
    assert "only its first 1,000 characters were checked" in capsys.readouterr().out


def test_eval_set_meets_the_floors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--eval", str(EVAL_FILE), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["count"] >= 300
    measured = {(label, m): data["labels"][label][m] for label, m in FLOORS}
    below = {key: value for key, value in measured.items() if value < FLOORS[key]}
    assert below == {}
