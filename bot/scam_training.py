"""Train the message model on corpus/train.tsv and write bot/models/scam_model.json.

    python -m bot.scam_training             # what `make train` runs after corpus/generate.py
    python -m bot.scam_training --tune      # compare settings on template-grouped folds

Needs the `train` extra (scikit-learn); the bot itself never imports this module. Training is
deterministic (a fixed seed, a deterministic solver), so the same corpus gives the same file.
It prints the held-out figures (corpus/heldout.tsv: templates the model never saw), for the
model alone and for the whole check (rules with the model's coverage added).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bot.check_command import Sample, evaluate, read_samples, report
from bot.scam_model import (
    LABELS,
    MODEL_FILE,
    NGRAMS,
    classify,
    load,
    ngrams,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SEED = 15
MIN_DF = 2  # an n-gram seen in one message only is a name or a number, not a pattern
KEEP = 40_000  # the n-grams that weigh most: keeps the file small (a few hundred kB)
DIGITS = 4  # weights are rounded to this many decimals in the file
FOLDS = 5
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True, slots=True)
class Setting:
    """The choices training makes: regularisation, n-gram lengths, label balance."""

    c: float
    sizes: tuple[int, int]
    balanced: bool


# Chosen with `--tune` (folds of the training split grouped by template); the held-out split
# played no part in it.
CHOSEN = Setting(c=8.0, sizes=NGRAMS, balanced=True)
GRID = [
    Setting(c, sizes, balanced)
    for c in (2.0, 8.0, 32.0)
    for sizes in ((1, 3), (2, 4))
    for balanced in (False, True)
]


def read_templates(path: Path) -> dict[int, str]:
    """Return, for each message line of a corpus file, the template it came from."""
    templates: dict[int, str] = {}
    current = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.startswith("# template "):
            current = raw.removeprefix("# template ").strip()
        elif raw.strip() and not raw.startswith("#"):
            templates[number] = current
    return templates


def fit(samples: Sequence[Sample], setting: Setting) -> Any:
    """Return a fitted scikit-learn pipeline (tf-idf of character n-grams, logistic regression)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectoriser = TfidfVectorizer(
        analyzer=partial(ngrams, sizes=setting.sizes), sublinear_tf=True, min_df=MIN_DF
    )
    model = LogisticRegression(
        C=setting.c,
        max_iter=5000,
        random_state=SEED,
        class_weight="balanced" if setting.balanced else None,
    )
    pipeline = make_pipeline(vectoriser, model)
    pipeline.fit([s.text for s in samples], [s.label for s in samples])
    return pipeline


def train(samples: Sequence[Sample], setting: Setting = CHOSEN) -> dict[str, Any]:
    """Fit the model and return it as the JSON object bot/scam_model.py reads."""
    import numpy as np

    pipeline = fit(samples, setting)
    vectoriser, model = pipeline[0], pipeline[-1]
    order = [list(model.classes_).index(label) for label in LABELS]
    coef = model.coef_[order]
    vocabulary = vectoriser.get_feature_names_out()
    strength = np.abs(coef).max(axis=0)
    # Keep the strongest n-grams; ties are broken by the n-gram itself so the cut is stable.
    ranked = sorted(range(len(vocabulary)), key=lambda i: (-round(strength[i], 6), vocabulary[i]))
    keep = sorted(ranked[:KEEP], key=lambda i: vocabulary[i])
    return {
        "about": "complaint-bot message model: tf-idf of character n-grams, logistic regression",
        "trained_on": "corpus/train.tsv",
        "setting": {"c": setting.c, "balanced": setting.balanced},
        "ngrams": list(setting.sizes),
        "labels": list(LABELS),
        "intercepts": [round(float(b), DIGITS) for b in model.intercept_[order]],
        # Parallel lists, n-grams joined by newlines (normalised text has none): JSON that loads
        # several times faster than a mapping of n-gram to row.
        "terms": "\n".join(str(vocabulary[i]) for i in keep),
        "idf": [round(float(vectoriser.idf_[i]), DIGITS) for i in keep],
        "weights": [[round(float(coef[k, i]), DIGITS) for i in keep] for k in range(len(LABELS))],
    }


def tune(samples: Sequence[Sample], groups: Sequence[str]) -> None:
    """Print grouped cross-validation figures for every setting of GRID and fraud threshold."""
    from sklearn.model_selection import GroupKFold

    labels = [s.label for s in samples]
    print(f"{FOLDS} folds of corpus/train.tsv, grouped by template")
    print("share of fraud / marketing / legit messages flagged as fraud at P(fraud) >=")
    print(
        f"{'C':>5} {'n-grams':>8} {'balanced':>8} {'accuracy':>8}  "
        + "".join(f"{t:>20}" for t in THRESHOLDS)
    )
    for setting in GRID:
        right = 0
        flagged = {t: Counter[str]() for t in THRESHOLDS}
        for train_rows, test_rows in GroupKFold(FOLDS).split(samples, labels, groups):
            pipeline = fit([samples[i] for i in train_rows], setting)
            tested = [samples[i] for i in test_rows]
            probabilities = pipeline.predict_proba([s.text for s in tested])
            fraud_column = list(pipeline.classes_).index("fraud")
            for sample, row in zip(tested, probabilities, strict=True):
                right += pipeline.classes_[row.argmax()] == sample.label
                for t in THRESHOLDS:
                    flagged[t][sample.label] += row[fraud_column] >= t
        shares = [
            "/".join(f"{flagged[t][label] / labels.count(label):.3f}" for label in LABELS)
            for t in THRESHOLDS
        ]
        print(
            f"{setting.c:>5} {setting.sizes!s:>8} {setting.balanced!s:>8}"
            f" {right / len(samples):>8.3f}  " + "".join(f"{s:>20}" for s in shares)
        )


def model_confusion(samples: Sequence[Sample], path: Path) -> dict[str, dict[str, int]]:
    """Return the model's own labels against the true ones."""
    model = load(path)
    confusion = {label: dict.fromkeys(LABELS, 0) for label in LABELS}
    for sample in samples:
        confusion[sample.label][classify(sample.text, model).label] += 1
    return confusion


def main(argv: list[str] | None = None) -> int:
    """Train, write the model file and print the held-out figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_FILE, help="model file to write")
    parser.add_argument("--tune", action="store_true", help="compare settings; write nothing")
    parser.add_argument("--quiet", action="store_true", help="write the model, print nothing")
    args = parser.parse_args(argv)
    samples = read_samples(CORPUS / "train.tsv")
    if args.tune:
        templates = read_templates(CORPUS / "train.tsv")
        tune(samples, [templates[s.line] for s in samples])
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(train(samples), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    if args.quiet:
        return 0
    print(f"{args.out}: {len(text) / 1024:.0f} kB, trained on {len(samples)} messages")
    held_out = read_samples(CORPUS / "heldout.tsv")
    print("\nheld-out, the model alone (rows: true label, columns: model's label)")
    for label, row in model_confusion(held_out, args.out).items():
        print(f"{label:<10}" + "".join(f"{row[k]:>10}" for k in LABELS))
    if args.out == MODEL_FILE:
        print("\nheld-out, the whole check (rules + model)")
        print(report(evaluate(held_out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
