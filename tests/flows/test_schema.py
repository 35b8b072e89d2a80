"""Flow files: the shipped ones load; each kind of mistake is reported as file.yaml:LINE."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from flows.definition.schema import DEFINITIONS, load_flows
from flows.errors import FlowError

# A small valid flow; each test breaks one thing in it. Line numbers below refer to this text.
GOOD = """\
flow: demo
version: 1
order: 5
title: {zh: 演示, en: Demo}
steps:
  - id: problem
    expect: choice
    ask: {zh: 什么问题？, en: "What problem?"}
    options:
      - id: spam
        label: {zh: 垃圾, en: Spam}
      - id: fraud
        label: {zh: 诈骗, en: Fraud}
    next:
      - when: {problem: fraud}
        to: amount
      - to: sender
  - id: sender
    expect: text
    validate: sms_sender
    hint: {zh: 号码不对, en: Not a number}
    ask: {zh: 哪个号码？, en: "Which number?"}
    next: remedies
  - id: amount
    expect: text
    validate: amount
    hint: {zh: 金额不对, en: Not an amount}
    ask: {zh: 多少钱？, en: "How much?"}
  - id: remedies
    expect: multi
    ask: {zh: 要什么？, en: "What do you want?"}
    other: true
    options:
      - id: stop
        label: {zh: 停止, en: Stop}
        demand: {zh: 停止发送。, en: Stop sending.}
  - id: summary
    expect: confirm
ladder:
  - channel: platform
    when: {problem: spam}
    deadline: {working_days: 5}
    binding: false
  - channel: samr_12315
    deadline: {days: 15}
"""


def flows_dir(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    for shared in ("common.yaml", "channels.yaml", "lifecycle.yaml"):
        shutil.copy(DEFINITIONS / shared, tmp_path / shared)
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def problems(tmp_path: Path, text: str, name: str = "demo.yaml") -> list[str]:
    with pytest.raises(FlowError) as caught:
        load_flows(flows_dir(tmp_path, text, name))
    return [str(p) for p in caught.value.problems]


def test_shipped_flows_load_with_every_category() -> None:
    flow_set = load_flows()
    assert [f.id for f in flow_set.categories()] == [
        "scam",
        "sms",
        "calls",
        "wallet",
        "crypto",
        "other",
    ]
    for flow in flow_set.categories():
        assert flow.first == "problem"
        assert flow.confirm_step == "summary"
        assert "remedies" in flow.steps


def test_the_small_flow_is_valid(tmp_path: Path) -> None:
    flow = load_flows(flows_dir(tmp_path, GOOD)).get("demo")
    assert flow is not None
    assert list(flow.steps) == ["problem", "sender", "amount", "remedies", "summary"]
    assert [r.to for r in flow.steps["problem"].routes] == ["amount", "sender"]
    assert [r.to for r in flow.steps["amount"].routes] == ["remedies"]  # the next in the file


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "        to: amount\n",
            "        to: amonut\n",
            "demo.yaml:15: step 'problem': next step 'amonut' not found",
        ),
        (
            "    expect: multi\n",
            "    expect: many\n",
            "demo.yaml:30: step 'remedies': expect: expected one of",
        ),
        (
            "    validate: sms_sender\n",
            "    validate: os.system\n",
            "demo.yaml:20: step 'sender': unknown validator 'os.system'",
        ),
        (
            '    ask: {zh: 哪个号码？, en: "Which number?"}\n',
            "    ask: {zh: 哪个号码？}\n",
            "demo.yaml:22: step 'sender': ask: missing translation 'en'",
        ),
        (
            "      - when: {problem: fraud}\n",
            "      - when: {problem: robbery}\n",
            "demo.yaml:15: when: 'problem' has no option 'robbery'",
        ),
        (
            "    other: true\n",
            "    other: true\n    colour: red\n",
            "demo.yaml:33: step 'remedies': unknown key 'colour' for multi",
        ),
        (
            "    next: remedies\n",
            "    next: remedies\n    actions: [rm_rf]\n",
            "demo.yaml:24: step 'sender': unknown action 'rm_rf'",
        ),
        (
            "title: {zh: 演示, en: Demo}\n",
            "title: {zh: 演示, en: Demo}\ntitle: {zh: 再来, en: Again}\n",
            "demo.yaml:5: not valid YAML: duplicate key 'title'",
        ),
        (
            "  - id: summary\n    expect: confirm\n",
            "",
            "a flow ends with exactly one step with expect: confirm",
        ),
    ],
    ids=[
        "unknown-target",
        "unknown-expect",
        "unknown-validator",
        "missing-translation",
        "unknown-option-in-when",
        "unknown-key",
        "unknown-action",
        "duplicate-key",
        "no-summary",
    ],
)
def test_each_mistake_is_reported_with_its_line(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in GOOD
    found = problems(tmp_path, GOOD.replace(old, new, 1))
    assert any(expected in p for p in found), found


def test_unreachable_step_is_reported(tmp_path: Path) -> None:
    text = GOOD.replace("      - when: {problem: fraud}\n        to: amount\n", "")
    found = problems(tmp_path, text)
    assert "demo.yaml:22: step 'amount' cannot be reached from 'problem'" in found


def test_step_with_no_way_out_is_reported(tmp_path: Path) -> None:
    # amount -> sender -> amount ... never reaches the summary
    text = GOOD.replace("    next: remedies\n", "    next: amount\n").replace(
        '    ask: {zh: 多少钱？, en: "How much?"}\n',
        '    ask: {zh: 多少钱？, en: "How much?"}\n    next: sender\n',
    )
    found = problems(tmp_path, text)
    assert "demo.yaml:18: step 'sender' has no way out to the summary" in found
    assert "demo.yaml:24: step 'amount' has no way out to the summary" in found


def test_missing_engine_text_in_common_is_reported(tmp_path: Path) -> None:
    directory = flows_dir(tmp_path, GOOD)
    common = (directory / "common.yaml").read_text(encoding="utf-8")
    (directory / "common.yaml").write_text(
        common.replace("  button_expired:", "  button_expird:"), encoding="utf-8"
    )
    with pytest.raises(FlowError) as caught:
        load_flows(directory)
    assert any(
        "common.yaml" in str(p) and "texts.button_expired: missing" in str(p)
        for p in caught.value.problems
    )


def test_broken_yaml_reports_the_line(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.replace("    expect: text\n", "    expect: [text\n", 1))
    assert found and found[0].startswith("demo.yaml:2") and "not valid YAML" in found[0]


def test_two_files_with_the_same_flow_version_are_rejected(tmp_path: Path) -> None:
    directory = flows_dir(tmp_path, GOOD)
    (directory / "demo@1.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(FlowError, match="flow demo@1 is also defined in demo"):
        load_flows(directory)


def test_older_versions_stay_loadable_next_to_the_newest(tmp_path: Path) -> None:
    directory = flows_dir(tmp_path, GOOD.replace("version: 1", "version: 2"))
    (directory / "demo@1.yaml").write_text(GOOD, encoding="utf-8")
    flow_set = load_flows(directory)
    assert flow_set.get("demo").version == 2  # type: ignore[union-attr]
    assert flow_set.get("demo", 1) is not None
    assert [f.ref for f in flow_set.categories()] == ["demo@2"]


def test_file_name_must_match_the_flow_id(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD, name="other_name.yaml")
    assert "other_name.yaml:1: flow id 'demo' does not match the file name" in found


def test_a_template_is_merged_with_overrides(tmp_path: Path) -> None:
    text = GOOD.replace("  - id: remedies\n", "  - use: evidence\n    max: 3\n  - id: remedies\n")
    flow = load_flows(flows_dir(tmp_path, text)).get("demo")
    assert flow is not None
    evidence = flow.steps["evidence"]
    assert (evidence.expect, evidence.min_files, evidence.max_files) == ("files", 0, 3)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  - channel: samr_12315\n",
            "  - channel: samr_99999\n",
            "demo.yaml:44: ladder: unknown channel 'samr_99999'",
        ),
        (
            "    deadline: {days: 15}\n",
            "    deadline: {weeks: 2}\n",
            "demo.yaml:45: ladder: deadline: expected {days: N} or {working_days: N} with N >= 1",
        ),
        (
            "    deadline: {working_days: 5}\n",
            "    deadline: {working_days: 0}\n",
            "demo.yaml:42: ladder: deadline: expected {days: N} or {working_days: N} with N >= 1",
        ),
        (
            "    when: {problem: spam}\n",
            "    when: {problem: robbery}\n",
            "demo.yaml:41: ladder: when: 'problem' has no option 'robbery'",
        ),
        (
            "    binding: false\n",
            "    binding: false\n    respondent: remedies\n",
            "demo.yaml:44: ladder: respondent: no text step 'remedies'",
        ),
        (
            "ladder:\n",
            "rungs:\n",
            "demo.yaml:39: unknown key 'rungs'",
        ),
    ],
    ids=[
        "unknown-channel",
        "bad-deadline-unit",
        "zero-deadline",
        "bad-when",
        "bad-respondent",
        "no-ladder",
    ],
)
def test_ladder_mistakes_are_reported_with_their_line(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in GOOD
    found = problems(tmp_path, GOOD.replace(old, new, 1))
    assert any(p.startswith(expected) for p in found), found


def test_a_broken_lifecycle_is_reported_with_its_line(tmp_path: Path) -> None:
    directory = flows_dir(tmp_path, GOOD)
    lifecycle = (directory / "lifecycle.yaml").read_text(encoding="utf-8")
    lines = lifecycle.splitlines()
    close = next(i for i, line in enumerate(lines) if "trigger: close" in line)
    lines[close] = lines[close].replace("dest: closed", "dest: archived")
    (directory / "lifecycle.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flows(directory)
    found = [str(p) for p in caught.value.problems]
    assert f"lifecycle.yaml:{close + 1}: moves: unknown state 'archived'" in found


def test_a_channel_without_a_source_is_reported(tmp_path: Path) -> None:
    directory = flows_dir(tmp_path, GOOD)
    path = directory / "channels.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    source = next(i for i, line in enumerate(lines) if line.strip().startswith("source:"))
    del lines[source]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flows(directory)
    assert any("source: say where the facts come from" in str(p) for p in caught.value.problems)


def test_every_category_has_a_ladder_of_known_channels() -> None:
    flow_set = load_flows()
    for flow in flow_set.categories():
        assert flow.ladder, flow.id
        for rung in flow.ladder:
            assert rung.channel in flow_set.channels
    assert flow_set.lifecycle is not None
    assert set(flow_set.after_ladder) <= set(flow_set.channels)
