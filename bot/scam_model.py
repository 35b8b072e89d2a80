"""The learned half of the message check: character n-grams and a linear model, in pure Python.

The model (bot/models/scam_model.json, written by `make train`, see bot/scam_training.py) is a
vocabulary of character n-grams with their idf and one weight per label: tf-idf features and a
multinomial logistic regression, computed here without scikit-learn or numpy so the check starts
fast. It only adds coverage to the rules: `widen` may raise a warning the rules missed and never
clears one (see its docstring).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

MODEL_FILE = Path(__file__).parent / "models" / "scam_model.json"
LABELS = ("fraud", "marketing", "legit")
NGRAMS = (1, 3)  # character n-gram lengths, both ends included (the model file says which)
MAX_CHARS = 1000  # the model reads this much of a message: its cost stays bounded
# A model verdict needs this much probability. Fraud may also overrule a rules' "legit" or
# "marketing" (a spoofed bank sender, a scam with 退订), so it asks for more there.
FRAUD_OVER_UNKNOWN = 0.7
FRAUD_OVER_RULES = 0.85
MARKETING_OVER_UNKNOWN = 0.7
MIN_CHARS = 12  # shorter than this ("hello", a code alone) gives the model too little to go on
TOP_TERMS = 3
TERM_MAX = 12  # characters of one shown term

_CJK = "\u3400-\u9fff\uf900-\ufaff"
_WORDLIKE = re.compile(rf"[{_CJK}]|[a-z]{{3}}", re.I)
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_LETTERS = re.compile(r"[a-z]{2}")
_TRIM = " ,.:;!?，。：；！？、()（）【】[]\"'“”"


@dataclass(frozen=True, slots=True)
class ModelVerdict:
    """What the model makes of one message: its label, the probabilities, the words behind it."""

    label: str
    probabilities: dict[str, float]
    top_terms: tuple[str, ...]
    chars: int  # how many characters it read, after normalising


@dataclass(frozen=True, slots=True)
class Model:
    """Vocabulary, idf and weights of the trained model."""

    index: dict[str, int]  # n-gram -> its position in idf and in each row of weights
    idf: list[float]
    weights: list[list[float]]  # one row per label
    intercepts: tuple[float, ...]
    labels: tuple[str, ...]
    sizes: tuple[int, int]  # n-gram lengths


def normalise(text: str) -> tuple[str, list[int]]:
    """Return the text as the model reads it, and for each of its characters the source index.

    Full-width forms become ASCII (NFKC), letters lower case, every digit 0 (a phone number or an
    amount matters by its shape, not its value), and spaces next to Chinese characters go, so
    "客 服" reads as 客服.
    """
    chars: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text[:MAX_CHARS]):
        for out in unicodedata.normalize("NFKC", char).lower():
            chars.append("0" if out.isdigit() else " " if out.isspace() else out)
            where.append(index)
    kept_chars: list[str] = []
    kept_where: list[int] = []
    for i, char in enumerate(chars):
        if char == " ":
            before = kept_chars[-1] if kept_chars else " "
            after = chars[i + 1] if i + 1 < len(chars) else " "
            if before == " " or _is_cjk(before) or _is_cjk(after) or after == " ":
                continue
        kept_chars.append(char)
        kept_where.append(where[i])
    return "".join(kept_chars), kept_where


def _is_cjk(char: str) -> bool:
    return "\u3000" <= char <= "\u9fff" or "\uf900" <= char <= "\uffef"


def ngrams(text: str, sizes: tuple[int, int] = NGRAMS) -> list[str]:
    """Return the character n-grams the model counts in a message."""
    clean, _ = normalise(text)
    return _grams(clean, sizes)


def _grams(clean: str, sizes: tuple[int, int]) -> list[str]:
    low, high = sizes
    return [clean[i : i + n] for n in range(low, high + 1) for i in range(len(clean) - n + 1)]


def load(path: Path = MODEL_FILE) -> Model:
    """Read a model file written by bot/scam_training.py."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    labels = tuple(data["labels"])
    index = {term: i for i, term in enumerate(data["terms"].split("\n"))}
    low, high = data["ngrams"]
    intercepts = tuple(float(b) for b in data["intercepts"])
    return Model(index, data["idf"], data["weights"], intercepts, labels, (low, high))


@cache
def default_model() -> Model:
    """Return the shipped model, read once."""
    return load()


def classify(text: str, model: Model | None = None) -> ModelVerdict:
    """Return the model's label for a message, its probabilities and the words that weighed most."""
    model = model or default_model()
    clean, where = normalise(text)
    counts = Counter(_grams(clean, model.sizes))
    # tf-idf with sublinear tf and an l2 norm, exactly as the training vectoriser computes it.
    found = {term: model.index[term] for term in counts if term in model.index}
    values = {term: (1.0 + math.log(counts[term])) * model.idf[i] for term, i in found.items()}
    norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
    logits = [
        bias + sum(values[term] / norm * row[i] for term, i in found.items())
        for bias, row in zip(model.intercepts, model.weights, strict=True)
    ]
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]
    total = sum(exps)
    probabilities = {label: e / total for label, e in zip(model.labels, exps, strict=True)}
    best = max(range(len(model.labels)), key=lambda k: logits[k])
    row = model.weights[best]
    pulls = {term: values[term] / norm * row[i] for term, i in found.items()}
    terms = _weightiest_spans(text, clean, where, pulls)
    return ModelVerdict(model.labels[best], probabilities, terms, len(clean))


def _weightiest_spans(
    text: str, clean: str, where: list[int], pulls: dict[str, float]
) -> tuple[str, ...]:
    """Return the stretches of the message whose n-grams pulled hardest towards the label.

    Single n-grams read badly (全账, 账户); the strongest of them are marked in the text and
    neighbours joined, so the person reads 安全账户 as it was written.
    """
    # Words, not amounts or link parts: in Chinese text only n-grams with a Chinese character.
    wordy = _CJK_CHAR if _CJK_CHAR.search(clean) else _LETTERS
    strong = sorted(
        (t for t, pull in pulls.items() if pull > 0 and len(t) > 1 and wordy.search(t)),
        key=lambda t: -pulls[t],
    )[: TOP_TERMS * 4]
    weight = [0.0] * len(clean)
    for term in strong:
        start = clean.find(term)
        while start != -1:
            for i in range(start, start + len(term)):
                # Neither a comma nor a number joins two phrases into one "word".
                if clean[i] not in _TRIM and clean[i] != "0":
                    weight[i] = max(weight[i], pulls[term])
            start = clean.find(term, start + 1)
    spans: list[tuple[float, str]] = []
    i = 0
    while i < len(clean):
        if weight[i] <= 0:
            i += 1
            continue
        j = i
        while j < len(clean) and weight[j] > 0:
            j += 1
        start, end = where[i], where[j - 1] + 1
        while start > 0 and text[start - 1].isascii() and text[start - 1].isalpha():
            start -= 1  # whole English words: "customers", not "ers"
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        words = text[start:end].strip(_TRIM)[:TERM_MAX]
        if len(words) > 1 and _WORDLIKE.search(words) and words not in (s for _, s in spans):
            spans.append((sum(weight[i:j]), words))
        i = j
    return tuple(words for _, words in sorted(spans, key=lambda s: -s[0])[:TOP_TERMS])


def widen(rule_verdict: str, opinion: ModelVerdict) -> str:
    """Return the verdict once the model has had its say: it may warn more, never less.

    fraud stays fraud; the model never says "legit", nor anything on fewer than MIN_CHARS
    characters. It makes fraud of "unknown" at
    FRAUD_OVER_UNKNOWN, and of "legit" or "marketing" at FRAUD_OVER_RULES; it makes marketing
    of "unknown" at MARKETING_OVER_UNKNOWN.
    """
    if opinion.chars < MIN_CHARS:
        return rule_verdict
    fraud = opinion.probabilities.get("fraud", 0.0)
    marketing = opinion.probabilities.get("marketing", 0.0)
    if rule_verdict == "unknown" and fraud >= FRAUD_OVER_UNKNOWN:
        return "fraud"
    if rule_verdict in ("legit", "marketing") and fraud >= FRAUD_OVER_RULES:
        return "fraud"
    if rule_verdict == "unknown" and marketing >= MARKETING_OVER_UNKNOWN:
        return "marketing"
    return rule_verdict


def reason(verdict: str, opinion: ModelVerdict) -> dict[str, str]:
    """Return the plain words, zh and en, for a verdict the model gave: how sure, which words."""
    share = round(100 * opinion.probabilities.get(verdict, 0.0))
    quoted = "".join(f"「{t}」" for t in opinion.top_terms)
    if verdict == "fraud":
        zh, en = "很像常见的诈骗短信", "reads like the usual scam messages"
    else:
        zh, en = "很像营销推广短信", "reads like marketing messages"
    words = {
        "zh": f"学习模型判断：这条短信{zh}（把握约 {share}%）",
        "en": f"The learned model: this {en} (about {share}% sure)",
    }
    if quoted:
        words["zh"] += f"，最起作用的词是{quoted}。"
        words["en"] += f"; the words {quoted} weighed most."
    else:
        words["zh"] += "。"
        words["en"] += "."
    return words
