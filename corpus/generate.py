"""Write the message corpus (corpus/train.tsv, corpus/heldout.tsv) from the templates beside it.

    python corpus/generate.py           # rewrite both files (deterministic: same files each run)
    python corpus/generate.py --check   # exit 1 if the committed files differ from a fresh run

Every message is written by the project: templates in corpus/templates/*.yaml (one list per
genre, with `{slot}` fillers, `{a|b}` alternatives and `[optional]` parts) are filled from
corpus/templates/slots.yaml and varied the way real messages vary (links masked or absent,
typos and look-alike characters, spaces, full-width letters, polite openings, 【brand】 and
退订). The held-out split is by TEMPLATE: every message of a template lands on one side, so the
held-out figures measure wording the model never saw, not new names in known sentences.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import string
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
OUTPUTS = {"train": HERE / "train.tsv", "heldout": HERE / "heldout.tsv"}
LABELS = ("fraud", "marketing", "legit")
SEED = 15  # issue 15
HELD_OUT_SHARE = 0.2
# Messages tried per template (duplicates are dropped): fewer for fraud, which has more templates.
PER_TEMPLATE = {"fraud": 9, "marketing": 11, "legit": 11}

_GROUP = re.compile(r"\{([^{}\[\]]*)\}|\[([^{}\[\]]*)\]")
_SLOT = re.compile(r"^[a-z_0-9]+$")


@dataclass(frozen=True, slots=True)
class Template:
    """One sentence pattern of one genre."""

    id: str
    label: str
    genre: str
    text: str


def load_templates() -> list[Template]:
    """Read every template file; ids are `label/genre/index`."""
    templates = []
    for label in LABELS:
        genres = yaml.safe_load((TEMPLATES / f"{label}.yaml").read_text(encoding="utf-8"))
        for genre, texts in genres.items():
            for index, text in enumerate(texts):
                templates.append(Template(f"{label}/{genre}/{index}", label, genre, text.strip()))
    return templates


def held_out(templates: list[Template]) -> set[str]:
    """Return the ids of the templates whose messages form the held-out split."""
    by_genre: dict[tuple[str, str], list[Template]] = {}
    for template in templates:
        by_genre.setdefault((template.label, template.genre), []).append(template)
    chosen: set[str] = set()
    for members in by_genre.values():
        # A stable hash, not Python's salted hash(): the split must not change between runs.
        members.sort(key=lambda t: hashlib.sha256(t.id.encode()).hexdigest())
        count = max(1, round(len(members) * HELD_OUT_SHARE)) if len(members) >= 3 else 0
        chosen.update(t.id for t in members[:count])
    return chosen


class Filler:
    """Fill slots and vary a message, all from one seeded random source."""

    def __init__(self, slots: dict[str, Any], rng: random.Random) -> None:
        self.slots = slots
        self.rng = rng

    def expand(self, text: str) -> str:
        """Resolve the innermost groups until none is left."""
        while True:
            match = _GROUP.search(text)
            if match is None:
                return text
            alternatives, optional = match.groups()
            if optional is not None:
                value = self.expand(optional) if self.rng.random() < 0.5 else ""
            elif "|" in alternatives:
                value = self.rng.choice(alternatives.split("|"))
            elif _SLOT.match(alternatives):
                value = self.slot(alternatives)
            else:
                raise ValueError(f"not a slot or a choice: {{{alternatives}}} in {text!r}")
            text = text[: match.start()] + value + text[match.end() :]

    def slot(self, name: str) -> str:
        """Return one value of a slot: a list in slots.yaml or a generated number."""
        r = self.rng
        made = {
            "money": lambda: str(r.choice([r.randint(2, 99) * 10, r.randint(1, 50) * 100, 88, 66])),
            "big_money": lambda: str(r.randint(1, 90) * 1000 + r.choice([0, 0, 500, 800])),
            "wan": lambda: str(r.choice([1, 2, 3, 5, 8, 10, 20, 30, 50, 100])),
            "percent": lambda: str(r.choice([3, 5, 8, 10, 12, 15, 20, 30, 50])),
            "mobile": lambda: "1" + r.choice("3578") + _digits(r, 9),
            "masked_mobile": lambda: (
                "1" + r.choice("3578") + _digits(r, 1) + "****" + _digits(r, 4)
            ),
            "landline": lambda: (
                r.choice(["010", "021", "0755", "020", "0571", "028"]) + "-" + _digits(r, 8)
            ),
            "code": lambda: _digits(r, r.choice([4, 6, 6])),
            "card4": lambda: _digits(r, 4),
            "order": lambda: _digits(r, r.choice([12, 16, 18])),
            "tracking": lambda: r.choice(["SF", "YT", "JT", "ZTO", "75", "77"]) + _digits(r, 12),
            "qq": lambda: str(r.randint(10000000, 3999999999)),
            "wechat": lambda: (
                r.choice(["", "vx", "wx", "kf", "zx"])
                + "".join(r.choice(string.ascii_lowercase) for _ in range(r.randint(3, 6)))
                + _digits(r, r.randint(2, 5))
            ),
            "day": lambda: str(r.randint(1, 28)),
            "month": lambda: str(r.randint(1, 12)),
            "hour": lambda: f"{r.randint(8, 21)}:{r.choice(['00', '30', '15', '45'])}",
            "num": lambda: str(r.randint(2, 9)),
            "count": lambda: str(r.randint(2, 30)),
            "train": lambda: r.choice("GDKZ") + str(r.randint(10, 2999)),
            "seat": lambda: f"{r.randint(1, 16):02d}车{r.randint(1, 20)}{r.choice('ABCDF')}号",
            "plate": lambda: r.choice("京沪粤浙苏川鄂湘") + r.choice("ABCDE") + _digits(r, 5),
            "link": lambda: self.link(),
            "short_link": lambda: r.choice(self.slots["shortener"]) + "/" + _token(r),
        }
        if name in made:
            return made[name]()
        if name not in self.slots:
            raise KeyError(f"unknown slot {{{name}}}")
        return self.expand(r.choice(self.slots[name]))

    def link(self) -> str:
        """Return a link as scams show it: plain, short, masked, or with the scheme broken."""
        r = self.rng
        host = r.choice(self.slots["scam_host"]).replace("#", _token(r, 3))
        kind = r.random()
        if kind < 0.3:
            return f"https://{host}/{_token(r)}"
        if kind < 0.5:
            return f"{host}/{_token(r, 4)}"
        if kind < 0.65:
            return r.choice(self.slots["shortener"]) + "/" + _token(r)
        if kind < 0.8:
            return r.choice(["http://***", "[链接]", "（链接已隐藏）", "https://xxx.xx/xx", "***"])
        if kind < 0.9:
            return f"hxxps://{host}/{_token(r, 4)}"
        address = ".".join(str(r.randint(1, 223)) for _ in range(4))
        return f"{address}/{_token(r, 3)}"


def _digits(r: random.Random, n: int) -> str:
    return "".join(r.choice(string.digits) for _ in range(n))


def _token(r: random.Random, n: int = 6) -> str:
    return "".join(r.choice(string.ascii_letters + string.digits) for _ in range(n))


# Look-alike spellings scammers (and hurried typists) use to slip past keyword filters.
TYPOS = {
    "微信": ["威信", "VX", "v信", "薇信", "wx", "微 信"],
    "账户": ["帐户", "账戶", "賬户"],
    "转账": ["转帐", "zhuan账", "转 账"],
    "退款": ["退kuan", "tui款", "退 款"],
    "客服": ["客 服", "kefu", "客fu"],
    "贷款": ["代款", "贷kuan", "dai款"],
    "银行": ["银hang", "银 行", "yin行"],
    "信用": ["信 用", "xin用"],
    "兼职": ["兼 职", "jian职", "兼值"],
    "返利": ["返 利", "fan利"],
    "链接": ["链 接", "lian接", "蓮接"],
    "验证码": ["验 证 码", "驗證碼", "yzm"],
    "点击": ["点 击", "點擊", "戳"],
    "添加": ["加", "+", "添 加"],
    "注销": ["註銷", "注 销", "zhu销"],
    "中奖": ["中 奖", "zhong奖"],
    "保证金": ["保 证 金", "bao证金"],
    "优惠": ["优 惠", "you惠"],
    "的": ["滴", "d"],
}
# Genres written person to person: no 尊敬的客户 in front of them.
PERSONAL = {
    "个人",
    "我换号了",
    "冒充子女亲属要钱",
    "冒充领导熟人",
    "婚恋交友杀猪盘",
    "房东改收款账户",
}
POLITE_OPEN = ["您好，", "尊敬的客户：", "亲爱的用户，", "温馨提示：", "尊敬的会员您好，", "亲，"]
POLITE_CLOSE = ["祝您生活愉快！", "感谢您的支持。", "谢谢配合。", "祝您顺利！", "如有疑问请咨询。"]
OPT_OUT = ["回T退订", "拒收请回复R", "退订回TD", "回N退订", "退订回T", "回复TD退订"]
EN_OPT_OUT = ["Reply STOP to opt out", "Txt STOP to unsubscribe", "Reply TD to unsubscribe"]


def vary(text: str, template: Template, slots: dict[str, Any], rng: random.Random) -> str:
    """Vary one filled message the way real ones vary; probabilities differ by label."""
    label = template.label
    chinese = any("\u4e00" <= c <= "\u9fff" for c in text)
    typo_p = {"fraud": 0.35, "marketing": 0.12, "legit": 0.03}[label]
    if chinese and rng.random() < typo_p:
        words = [w for w in TYPOS if w in text]
        for word in rng.sample(words, k=min(len(words), rng.randint(1, 2))):
            text = text.replace(word, rng.choice(TYPOS[word]), 1)
    if (
        chinese
        and template.genre not in PERSONAL
        and not text.startswith("【")
        and rng.random() < 0.2
    ):
        text = rng.choice(POLITE_OPEN) + text
    if chinese and rng.random() < 0.12:
        text = _end(text) + rng.choice(POLITE_CLOSE)
    brands = slots["brands"].get(template.genre)
    brand_p = {"fraud": 0.3, "marketing": 0.5, "legit": 0.4}[label]
    if chinese and brands and not text.startswith("【") and rng.random() < brand_p:
        text = f"【{rng.choice(brands)}】" + text
    opt_out_p = {"fraud": 0.08, "marketing": 0.55, "legit": 0.03}[label]
    if "退订" not in text and "STOP" not in text and rng.random() < opt_out_p:
        text = _end(text) + (rng.choice(OPT_OUT) if chinese else " " + rng.choice(EN_OPT_OUT))
    if rng.random() < 0.08:
        text = _full_width(text, rng)
    if chinese and rng.random() < {"fraud": 0.1, "marketing": 0.05, "legit": 0.02}[label]:
        text = _spaced(text, rng)
    return re.sub(r"\s+", " ", text).strip()


def _end(text: str) -> str:
    """Return the text ready for one more sentence: most senders close with 。 or ！ first."""
    text = text.rstrip()
    return text if text[-1:] in "。！？!?.，" else text + "。"


def _full_width(text: str, rng: random.Random) -> str:
    return "".join(
        chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() and rng.random() < 0.6 else c
        for c in text
    )


def _spaced(text: str, rng: random.Random) -> str:
    start = rng.randrange(max(1, len(text) - 8))
    span = text[start : start + rng.randint(4, 8)]
    return text.replace(span, " ".join(span), 1)


def generate() -> dict[str, list[tuple[str, str, str]]]:
    """Return the train and held-out messages as (template id, label, text) lists."""
    slots = yaml.safe_load((TEMPLATES / "slots.yaml").read_text(encoding="utf-8"))
    templates = load_templates()
    hold = held_out(templates)
    rng = random.Random(SEED)
    filler = Filler(slots, rng)
    seen: set[str] = set()
    out: dict[str, list[tuple[str, str, str]]] = {"train": [], "heldout": []}
    for template in templates:
        for _ in range(PER_TEMPLATE[template.label]):
            text = vary(filler.expand(template.text), template, slots, rng)
            if text in seen or "\t" in text:
                continue
            seen.add(text)
            side = "heldout" if template.id in hold else "train"
            out[side].append((template.id, template.label, text))
    return out


def render(name: str, rows: list[tuple[str, str, str]], templates: int) -> str:
    """Return one split as TSV; a `# template ID` comment line opens each template's messages."""
    counts = Counter(label for _, label, _ in rows)
    header = [
        f"# corpus/{name}.tsv: written by corpus/generate.py from corpus/templates/; do not edit.",
        f"# {len(rows)} messages from {templates} templates: "
        + ", ".join(f"{counts[label]} {label}" for label in LABELS),
        "# The split is by template: no template of this file has a message in the other one.",
        "# Format: label<TAB>text (complaint-bot check --eval reads it).",
    ]
    lines = []
    for index, (template, label, text) in enumerate(rows):
        if index == 0 or rows[index - 1][0] != template:
            lines.append(f"# template {template}")
        lines.append(f"{label}\t{text}")
    return "\n".join([*header, *lines]) + "\n"


def main() -> int:
    """Write (or with --check, compare) the corpus files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, don't write")
    args = parser.parse_args()
    templates = load_templates()
    hold = held_out(templates)
    sizes = {"train": len(templates) - len(hold), "heldout": len(hold)}
    stale = []
    for name, rows in generate().items():
        text = render(name, rows, sizes[name])
        path = OUTPUTS[name]
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"{path.name}: {len(rows)} messages from {sizes[name]} templates")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python corpus/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
