"""Complaint letters from a case, written by Jinja2 templates in bot/templates/.

A letter is a template per language (`letter.zh.j2`) that a flow's template extends with what is
particular to its category (`sms.zh.j2`: subject, respondent, facts); flows without their own
template use `generic.LANG.j2`. The same template gives the plain text (to paste into a web form)
and the Markdown file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from bot.config import ConfigError
from bot.letter_facts import LetterFacts, gather
from flows.definition.schema import FlowSet
from flows.errors import LetterError
from flows.records import CaseRecord, Letter, Profile

TEMPLATES = Path(__file__).parent / "templates"
_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>#|~"})


class Templates:
    """The letter templates, loaded once: one environment for plain text, one for Markdown.

    Sandboxed and strict: the templates are ours, but what they print comes from people, and a
    misspelt variable must fail the golden tests rather than print nothing.
    """

    def __init__(self, folder: Path = TEMPLATES) -> None:
        self.folder = folder
        self.plain = self._environment(lambda value: value)
        self.markdown = self._environment(_escape_markdown)

    def _environment(self, finalize: Callable[[Any], Any]) -> SandboxedEnvironment:
        env = SandboxedEnvironment(
            loader=FileSystemLoader(self.folder),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            autoescape=False,
            finalize=finalize,
        )
        env.filters["lowerfirst"] = lower_first
        env.filters["without_lead"] = without_lead
        return env

    def check(self, flows: FlowSet) -> None:
        """Compile every template a letter may use; raise ConfigError naming a broken one."""
        names = [f"{base}.{lang}.j2" for base in ("letter", "generic") for lang in flows.languages]
        names += [
            f"{flow.id}.{lang}.j2"
            for flow in flows.categories()
            for lang in flows.languages
            if (self.folder / f"{flow.id}.{lang}.j2").exists()
        ]
        for name in names:
            try:
                self.plain.get_template(name)
            except TemplateError as e:
                line = getattr(e, "lineno", None) or 1
                raise ConfigError(f"{name}:{line}: {e}") from e


def lower_first(text: str) -> str:
    """Return a label as it reads mid-sentence: "Every day" -> "every day", "SMS" stays."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def without_lead(text: str, *leads: str) -> str:
    """Return an answer without the words the letter already puts before it: "UID 8800" -> "8800".

    People echo the question ("自称来自某某金融" to "对方自称是哪家公司？"), and "对方自称来自" +
    the answer would say it twice. The first lead the answer starts with goes, any case.
    """
    for lead in leads:
        rest = text[len(lead) :]
        if text[: len(lead)].casefold() != lead.casefold() or not rest.strip(" :：,，"):
            continue
        if (lead[-1] + rest[0]).isascii() and (lead[-1] + rest[0]).isalpha():
            continue  # "IDEA-7" is not "ID" + "EA-7"
        return rest.lstrip(" :：,，")
    return text


def _escape_markdown(value: Any) -> Any:
    # What people typed is escaped so a "*" or "#" in it stays text; our own markup (headings,
    # bold) comes back from the helpers as Markup and passes through.
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return Markup(value.translate(_MD_SPECIAL))


def _helpers(markdown: bool) -> dict[str, Any]:
    def h1(text: str) -> Markup:
        return Markup(f"# {text}" if markdown else str(text))

    def h2(text: str) -> Markup:
        return Markup(f"## {text}" if markdown else str(text))

    def field(label: str, value: str) -> Markup:
        if not markdown:
            return Markup(f"{label}{value}")
        # The colon goes outside the bold: "**致**：x" renders in CommonMark, "**致：**x" does not.
        space = " " if label.endswith(" ") else ""
        name, colon = label.rstrip()[:-1], label.rstrip()[-1]
        return Markup(f"- **{name}**{colon}{space}{value}")

    return {"h1": h1, "h2": h2, "field": field, "md": markdown}


def render_letter(templates: Templates, facts: LetterFacts, *, markdown: bool) -> str:
    """Render one letter from its facts; plain text, or Markdown when `markdown`."""
    env = templates.markdown if markdown else templates.plain
    try:
        template = env.get_template(f"{facts.flow}.{facts.lang}.j2")
    except TemplateNotFound:
        template = env.get_template(f"generic.{facts.lang}.j2")
    try:
        text = template.render(f=facts, v=facts.v, opt=facts.opt, **_helpers(markdown))
    except TemplateError as e:
        raise LetterError(
            f"case {facts.number}: cannot write the letter to {facts.channel} "
            f"({template.name}: {e})"
        ) from e
    return _tidy(text)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    tidy: list[str] = []
    for line in lines:
        if not line and (not tidy or not tidy[-1]):
            continue  # one blank line between blocks, none at the top
        tidy.append(line)
    return "\n".join(tidy).strip() + "\n"


def letter_of(templates: Templates, facts: LetterFacts) -> Letter:
    """Return the letter its facts make: plain text, Markdown, files' stem, one-line reports."""
    return Letter(
        channel=facts.channel,
        addressee=facts.to,
        text=render_letter(templates, facts, markdown=False),
        markdown=render_letter(templates, facts, markdown=True),
        file_stem=f"{facts.number}-{facts.channel}-{facts.lang}",
        short=facts.short,
        also_short=facts.also_short,
    )


def write_letter(
    case: CaseRecord,
    flows: FlowSet,
    templates: Templates,
    *,
    lang: str,
    profile: Profile,
    today: date,
    tz: tzinfo,
    rung: int | None = None,
) -> Letter:
    """Return the letter about `case` to its current rung (or `rung`), dated `today`.

    A letter to an earlier rung is dated the day the case reached that rung.
    """
    index = case.rung if rung is None else rung
    return letter_of(templates, gather(case, flows, index, lang, profile, today, tz))
