"""The learned message check: time per message, the worst input, loading, `check` start-up.

    python benchmarks/scam_model.py           # every message of corpus/heldout.tsv, 3 rounds
    python benchmarks/scam_model.py --quick   # one round

Targets (issue 15): the model under 20 ms per message (p95, and on the worst input) and loaded in
well under the 1 s `complaint-bot check` start-up budget. The whole check (rules + model) and the
start-up are printed too; the rules' share of them is the rules' own target.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.analysis import analyse  # noqa: E402
from bot.check_command import read_samples  # noqa: E402
from bot.scam_model import MODEL_FILE, classify, load  # noqa: E402

PER_MESSAGE_MS = 20.0
LOAD_MS = 200.0
WORST = {"'1.' * 2048 (4,096 characters)": "1." * 2048, "32k characters of Chinese": "转账" * 16384}


def timed_ms(function: object, text: str) -> float:
    """Return how long one call took, in milliseconds."""
    started = time.perf_counter()
    function(text)  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def check_startup_seconds() -> float:
    """Return the wall time of `complaint-bot check TEXT` in a fresh interpreter."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "check", "您的账户涉嫌洗钱，请将资金转入安全账户"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the targets hold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    texts = [s.text for s in read_samples(ROOT / "corpus" / "heldout.tsv")]

    started = time.perf_counter()
    load(MODEL_FILE)
    load_ms = (time.perf_counter() - started) * 1000
    analyse(texts[0])  # rules, extractors and the model loaded before timing
    model_ms = [timed_ms(classify, t) for _ in range(rounds) for t in texts]
    whole_ms = [timed_ms(analyse, t) for _ in range(rounds) for t in texts]
    startup = min(check_startup_seconds() for _ in range(rounds))

    print(f"== the learned message check: {len(texts)} held-out messages x {rounds} ==")
    print(f"model file: {MODEL_FILE.stat().st_size / 1024:.0f} kB, loaded in {load_ms:.0f} ms")
    for name, series in (("model alone", model_ms), ("whole check", whole_ms)):
        p95 = statistics.quantiles(series, n=20)[-1]
        print(
            f"{name:<12} mean {statistics.mean(series):6.2f} ms   p95 {p95:6.2f} ms"
            f"   max {max(series):6.2f} ms"
        )
    worst_ms = 0.0
    for name, text in WORST.items():
        model, whole = timed_ms(classify, text), timed_ms(analyse, text)
        worst_ms = max(worst_ms, model)
        print(f"worst input {name}: model {model:.1f} ms, whole check {whole:.1f} ms")
    print(f"complaint-bot check start-up to answer: {startup:.2f} s (best of {rounds})")
    p95_model = statistics.quantiles(model_ms, n=20)[-1]
    holds = p95_model < PER_MESSAGE_MS and worst_ms < PER_MESSAGE_MS and load_ms < LOAD_MS
    print(
        f"{'holds ' if holds else 'MISSED'}  the model: p95 and worst input under"
        f" {PER_MESSAGE_MS:.0f} ms, loaded in under {LOAD_MS:.0f} ms"
    )
    return holds


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
