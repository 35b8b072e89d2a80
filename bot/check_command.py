"""`complaint-bot check`: judge one forwarded SMS, or measure the rules on a labelled TSV file."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.analysis import Analysis, analyse
from bot.analysis_rules import KINDS, VERDICTS, advice_words, default_rules, verdict_words
from bot.explain import reasons
from flows.errors import ComplaintBotError

HEADINGS = {"zh": ("理由", "建议"), "en": ("Why", "What to do")}


class EvalFileError(ComplaintBotError):
    """A line of the evaluation file is malformed; the message is `FILE:LINE: message`."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled message of an evaluation file."""

    line: int
    label: str
    sender: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Evaluation:
    """How the verdicts compare with the labels."""

    confusion: dict[str, dict[str, int]]  # true label -> predicted verdict -> count
    seconds: float

    @property
    def count(self) -> int:
        """Return how many messages were judged."""
        return sum(sum(row.values()) for row in self.confusion.values())

    def precision(self, label: str) -> float:
        """Return the share of messages judged `label` that carry that label."""
        predicted = sum(row[label] for row in self.confusion.values())
        return self.confusion[label][label] / predicted if predicted else 0.0

    def recall(self, label: str) -> float:
        """Return the share of messages labelled `label` that were judged so."""
        total = sum(self.confusion[label].values())
        return self.confusion[label][label] / total if total else 0.0

    @property
    def accuracy(self) -> float:
        """Return the share of all messages judged as labelled."""
        right = sum(self.confusion[label][label] for label in KINDS)
        return right / self.count if self.count else 0.0

    @property
    def ms_per_message(self) -> float:
        """Return the mean time `analyse` took per message, in milliseconds."""
        return self.seconds * 1000 / self.count if self.count else 0.0

    def to_json(self) -> dict[str, Any]:
        """Return the figures as one JSON-ready object."""
        return {
            "count": self.count,
            "labels": {
                label: {
                    "precision": round(self.precision(label), 4),
                    "recall": round(self.recall(label), 4),
                    "count": sum(self.confusion[label].values()),
                }
                for label in KINDS
            },
            "accuracy": round(self.accuracy, 4),
            "confusion": self.confusion,
            "ms_per_message": round(self.ms_per_message, 3),
        }


def run(args: argparse.Namespace) -> int:
    """Run `complaint-bot check` with parsed arguments; return the exit status."""
    if (args.text is None) == (args.eval is None):
        print("complaint-bot check: give either a message TEXT or --eval FILE", file=sys.stderr)
        return 2
    if args.eval is not None:
        try:
            samples = read_samples(args.eval)
        except (OSError, EvalFileError) as exc:
            print(exc if isinstance(exc, EvalFileError) else f"{args.eval}: {exc}", file=sys.stderr)
            return 1
        result = evaluate(samples)
        print(json.dumps(result.to_json(), ensure_ascii=False) if args.json else report(result))
        return 0
    analysis = analyse(args.text, args.sender)
    if args.json:
        print(json.dumps(analysis_to_json(analysis), ensure_ascii=False))
    else:
        print(describe(analysis, args.lang))
    return 0


def analysis_to_json(analysis: Analysis) -> dict[str, Any]:
    """Return an analysis as the JSON object `check --json` prints."""
    return {
        "verdict": analysis.verdict,
        "findings": [
            {
                "id": f.id,
                "kind": f.kind,
                "weight": f.weight,
                "words": f.words,
                "detail": f.detail,
                "role": f.role,
                "evidence": f.evidence,
            }
            for f in analysis.findings
        ],
        "advice": list(analysis.advice),
        "sender": analysis.sender,
        "sender_type": analysis.sender_type,
        "urls": list(analysis.urls),
        "phones": list(analysis.phones),
        "scores": analysis.scores,
        "cut": analysis.cut,
    }


def describe(analysis: Analysis, lang: str) -> str:
    """Return the verdict, its reasons and the advice as text for a person."""
    rules = default_rules()
    why, todo = HEADINGS[lang]
    lines = [verdict_words(rules, analysis.verdict, lang)]
    if analysis.findings or analysis.cut:
        lines += ["", f"{why}:", *(f"- {reason}" for reason in reasons(analysis, lang, every=True))]
    if analysis.advice:
        lines += ["", f"{todo}:", *(f"- {advice_words(rules, a, lang)}" for a in analysis.advice)]
    return "\n".join(lines)


def read_samples(path: Path) -> list[Sample]:
    """Read `label<TAB>text` or `label<TAB>sender<TAB>text` lines; `#` and blank lines skipped."""
    samples = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        fields = raw.split("\t")
        if len(fields) not in (2, 3):
            raise EvalFileError(
                f"{path}:{number}: expected label<TAB>text or label<TAB>sender<TAB>text,"
                f" got {len(fields)} field(s)"
            )
        label, text = fields[0].strip(), fields[-1].strip()
        sender = fields[1].strip() if len(fields) == 3 else "-"
        if label not in KINDS:
            raise EvalFileError(
                f"{path}:{number}: label must be one of {', '.join(KINDS)}, got {label!r}"
            )
        if not text:
            raise EvalFileError(f"{path}:{number}: empty message text")
        samples.append(Sample(number, label, None if sender in ("", "-") else sender, text))
    return samples


def evaluate(samples: Sequence[Sample]) -> Evaluation:
    """Judge every sample and count verdicts against labels."""
    analyse("")  # load the rules and build the extractors before the clock starts
    confusion = {label: dict.fromkeys(VERDICTS, 0) for label in KINDS}
    start = time.perf_counter()
    for sample in samples:
        confusion[sample.label][analyse(sample.text, sample.sender).verdict] += 1
    return Evaluation(confusion, time.perf_counter() - start)


def report(result: Evaluation) -> str:
    """Return precision, recall, accuracy and the confusion table as text."""
    lines = [f"{'label':<10} {'precision':>9} {'recall':>7} {'count':>6}"]
    for label in KINDS:
        count = sum(result.confusion[label].values())
        lines.append(
            f"{label:<10} {result.precision(label):>9.3f} {result.recall(label):>7.3f} {count:>6}"
        )
    lines += [
        f"accuracy: {result.accuracy:.3f} ({result.count} messages)",
        "",
        "confusion (rows: true label, columns: predicted)",
        f"{'':<10}" + "".join(f"{v:>10}" for v in VERDICTS),
        *(
            f"{label:<10}" + "".join(f"{result.confusion[label][v]:>10}" for v in VERDICTS)
            for label in KINDS
        ),
        "",
        f"time: {result.ms_per_message:.2f} ms per message",
    ]
    return "\n".join(lines)
