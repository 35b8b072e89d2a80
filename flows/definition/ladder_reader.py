"""Read channels.yaml, lifecycle.yaml and each flow's `ladder:`, reporting `file.yaml:LINE`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flows.definition.conditions import conditions_of
from flows.definition.flow import Step
from flows.definition.ladder import (
    IDENTITY_FIELDS,
    LETTER_KINDS,
    Channel,
    Deadline,
    Law,
    Rung,
    ShortForm,
)
from flows.definition.lifecycle import CONDITIONS, TRIGGERS, Lifecycle, Move
from flows.definition.problems import ID_PATTERN, Problems
from flows.definition.yamlfile import Mapping_

_CHANNEL_KEYS = {
    "name",
    "how",
    "include",
    "source",
    "confirmed",
    "unconfirmed",
    "phones",
    "site",
    "legal_basis",
    "deadline_rule",
    "addressee",
    "letter",
    "short",
    "asks",
    "identity",
}
_LAW_KEYS = {"cite", "says", "source", "flows", "channels", "when"}
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_RUNG_KEYS = {"channel", "deadline", "when", "binding", "respondent", "note", "also"}
_MOVE_KEYS = {"trigger", "source", "dest", "conditions"}


def read_channels(checker: Problems, path: Path) -> tuple[dict[str, Channel], dict[str, Law]]:
    """Read the channels file (channels and laws); a bad entry is reported and left out."""
    data = checker.read_file(path)
    if data is None:
        return {}, {}
    raw = data.get("channels")
    if not isinstance(raw, Mapping_) or not raw:
        checker.report(data.line_of("channels"), "channels: expected a mapping of channel ids")
        return {}, {}
    channels = {}
    for channel_id, body in raw.items():
        channel = _channel(checker, channel_id, body, raw.line_of(channel_id))
        if channel is not None:
            channels[channel_id] = channel
    laws: dict[str, Law] = {}
    raw_laws = data.get("laws", {})
    if not isinstance(raw_laws, Mapping_):
        checker.report(data.line_of("laws"), "laws: expected a mapping of law ids")
        return channels, laws
    for law_id, body in raw_laws.items():
        law = _law(checker, law_id, body, raw_laws.line_of(law_id), channels)
        if law is not None:
            laws[law_id] = law
    return channels, laws


def _law(
    checker: Problems, law_id: str, body: Any, line: int, channels: Mapping[str, Channel]
) -> Law | None:
    where = f"law '{law_id}'"
    if not ID_PATTERN.match(law_id) or not isinstance(body, Mapping_):
        checker.report(line, f"{where}: expected a short lower_case id with a mapping")
        return None
    for key in body:
        if key not in _LAW_KEYS:
            checker.report(body.line_of(key), f"{where}: unknown key '{key}'")
    cite = checker.texts(body.get("cite"), body.line_of("cite"), f"{where}: cite")
    says = checker.texts(body.get("says"), body.line_of("says"), f"{where}: says")
    source = body.get("source")
    if not isinstance(source, str) or not source.strip():
        checker.report(body.line_of("source"), f"{where}: source: say where the text comes from")
    lists = {}
    for key in ("flows", "channels"):
        value = body.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            checker.report(body.line_of(key), f"{where}: {key}: expected a list of ids")
            value = []
        lists[key] = frozenset(value)
    for channel in sorted(lists["channels"] - set(channels)):
        checker.report(body.line_of("channels"), f"{where}: channels: unknown channel '{channel}'")
    when = body.get("when", {})
    if not isinstance(when, dict):
        checker.report(body.line_of("when"), f"{where}: when: expected a mapping")
        when = {}
    if cite is None or says is None or not isinstance(source, str):
        return None
    return Law(
        law_id,
        cite,
        says,
        source,
        body.line,
        lists["flows"],
        lists["channels"],
        conditions_of(when),
    )


def _channel(checker: Problems, channel_id: str, body: Any, line: int) -> Channel | None:
    where = f"channel '{channel_id}'"
    if not ID_PATTERN.match(channel_id):
        checker.report(line, f"{where}: expected a short lower_case id")
        return None
    if not isinstance(body, Mapping_):
        checker.report(line, f"{where}: expected a mapping")
        return None
    for key in body:
        if key not in _CHANNEL_KEYS:
            checker.report(body.line_of(key), f"{where}: unknown key '{key}'")
    texts = {}
    required = ("name", "how", "include", "addressee")
    for key in (*required, "legal_basis", "deadline_rule", "unconfirmed"):
        if key in body:
            texts[key] = checker.texts(body[key], body.line_of(key), f"{where}: {key}")
        elif key in required:
            checker.report(body.line, f"{where}: {key} is missing")
    letter = body.get("letter", "complaint")
    if letter not in LETTER_KINDS:
        checker.report(
            body.line_of("letter"), f"{where}: letter: expected one of {', '.join(LETTER_KINDS)}"
        )
        letter = "complaint"
    short = _short(checker, body.get("short"), body.line_of("short"), where)
    source = body.get("source")
    if not isinstance(source, str) or not source.strip():
        checker.report(body.line_of("source"), f"{where}: source: say where the facts come from")
    confirmed = body.get("confirmed")
    if not isinstance(confirmed, bool):
        checker.report(body.line_of("confirmed"), f"{where}: confirmed: expected true or false")
    elif not confirmed and "unconfirmed" not in body:
        checker.report(body.line, f"{where}: unconfirmed: say which fact is not confirmed")
    phones = body.get("phones", [])
    if not isinstance(phones, list) or not all(isinstance(p, str) for p in phones):
        checker.report(
            body.line_of("phones"), f"{where}: phones: expected a list of quoted numbers"
        )
        phones = []
    site = body.get("site")
    if site is not None and not (
        isinstance(site, str) and site.startswith(("http://", "https://"))
    ):
        checker.report(body.line_of("site"), f"{where}: site: expected an http(s) address")
        site = None
    asks = _asks(checker, body.get("asks"), body.line_of("asks"), where)
    identity = body.get("identity", [])
    if not isinstance(identity, list) or not set(identity) <= set(IDENTITY_FIELDS):
        checker.report(
            body.line_of("identity"),
            f"{where}: identity: expected a list of {', '.join(IDENTITY_FIELDS)}",
        )
        identity = []
    name, how, include = texts.get("name"), texts.get("how"), texts.get("include")
    addressee = texts.get("addressee")
    if name is None or how is None or include is None or addressee is None:
        return None
    if not isinstance(source, str):
        return None
    return Channel(
        id=channel_id,
        name=name,
        how=how,
        include=include,
        addressee=addressee,
        source=source,
        confirmed=confirmed is True,
        phones=tuple(phones),
        site=site,
        legal_basis=texts.get("legal_basis"),
        deadline_rule=texts.get("deadline_rule"),
        unconfirmed=texts.get("unconfirmed"),
        letter=str(letter),
        short=short,
        asks=asks,
        identity=tuple(identity),
    )


def _asks(checker: Problems, raw: Any, line: int, where: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    expected = f"{where}: asks: expected a list of demands per language {list(checker.languages)}"
    if not isinstance(raw, Mapping_) or set(raw) != set(checker.languages):
        checker.report(line, expected)
        return {}
    asks = {}
    for lang, items in raw.items():
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(i, str) and i.strip() for i in items)
        ):
            checker.report(raw.line_of(lang), expected)
            return {}
        asks[lang] = tuple(items)
    if len({len(items) for items in asks.values()}) != 1:
        checker.report(line, f"{where}: asks: every language needs the same number of demands")
        return {}
    return asks


def _short(checker: Problems, raw: Any, line: int, where: str) -> ShortForm | None:
    if raw is None:
        return None
    expected = f"{where}: short: expected {{to: NUMBER, text: '{{sender}}*{{content}}'}}"
    if not isinstance(raw, Mapping_) or set(raw) != {"to", "text"}:
        checker.report(line, expected)
        return None
    to, text = raw.get("to"), raw.get("text")
    if not isinstance(to, str) or not to.isdigit() or not isinstance(text, str):
        checker.report(line, expected)
        return None
    if not _PLACEHOLDER.search(text):
        checker.report(line, f"{where}: short: text names no {{answer}} to fill in")
        return None
    return ShortForm(to, text)


def placeholders(text: str) -> list[str]:
    """Return the {answer_id} names a short form fills in."""
    return _PLACEHOLDER.findall(text)


def read_ladder(
    checker: Problems,
    raw: Any,
    line: int,
    steps: Mapping[str, Step],
    channels: Mapping[str, Channel],
) -> tuple[Rung, ...]:
    """Read a flow's `ladder:` list of rungs."""
    if not isinstance(raw, list) or not raw:
        checker.report(line, "ladder: expected a list of rungs (channel + deadline)")
        return ()
    rungs = []
    for item in raw:
        if not isinstance(item, Mapping_):
            checker.report(line, "ladder: each rung must be a mapping")
            continue
        rung = _rung(checker, item, steps, channels)
        if rung is not None:
            rungs.append(rung)
    return tuple(rungs)


def _rung(
    checker: Problems, item: Mapping_, steps: Mapping[str, Step], channels: Mapping[str, Channel]
) -> Rung | None:
    for key in item:
        if key not in _RUNG_KEYS:
            checker.report(item.line_of(key), f"ladder: unknown key '{key}'")
    channel = item.get("channel")
    ok = True
    if channel not in channels:
        known = ", ".join(sorted(channels)) or "none"
        checker.report(
            item.line_of("channel"), f"ladder: unknown channel {channel!r} (known: {known})"
        )
        ok = False
    deadline = _deadline(checker, item.get("deadline"), item.line_of("deadline"))
    when = item.get("when", {})
    if not isinstance(when, dict):
        checker.report(item.line_of("when"), "ladder: when: expected a mapping")
        when = {}
    conditions = conditions_of(when)
    for key, values in conditions.items():
        target = steps.get(key)
        if target is None or target.expect not in ("choice", "multi"):
            checker.report(item.line_of("when"), f"ladder: when: '{key}' is not a choice step")
            ok = False
            continue
        for value in sorted(values - {o.id for o in target.options}):
            checker.report(item.line_of("when"), f"ladder: when: '{key}' has no option '{value}'")
            ok = False
    binding = item.get("binding", True)
    if not isinstance(binding, bool):
        checker.report(item.line_of("binding"), "ladder: binding: expected true or false")
        ok = False
    respondent = item.get("respondent")
    if respondent is not None and getattr(steps.get(respondent), "expect", None) != "text":
        checker.report(
            item.line_of("respondent"), f"ladder: respondent: no text step {respondent!r}"
        )
        ok = False
    note = None
    if "note" in item:
        note = checker.texts(item["note"], item.line_of("note"), "ladder: note")
        ok = ok and note is not None
    also = item.get("also", [])
    if not isinstance(also, list) or not all(isinstance(a, str) for a in also):
        checker.report(item.line_of("also"), "ladder: also: expected a list of channel ids")
        also, ok = [], False
    for other in also:
        if other not in channels:
            checker.report(item.line_of("also"), f"ladder: also: unknown channel {other!r}")
            ok = False
    if not ok or deadline is None:
        return None
    return Rung(
        str(channel), deadline, item.line, conditions, binding, respondent, note, tuple(also)
    )


def _deadline(checker: Problems, raw: Any, line: int) -> Deadline | None:
    expected = "deadline: expected {days: N} or {working_days: N} with N >= 1"
    if not isinstance(raw, dict) or len(raw) != 1:
        checker.report(line, f"ladder: {expected}, got {raw!r}")
        return None
    ((unit, amount),) = raw.items()
    if unit not in ("days", "working_days") or not isinstance(amount, int) or amount < 1:
        checker.report(line, f"ladder: {expected}, got {dict(raw)!r}")
        return None
    if isinstance(amount, bool):
        checker.report(line, f"ladder: {expected}, got {dict(raw)!r}")
        return None
    return Deadline(**{unit: amount})


def read_lifecycle(checker: Problems, path: Path) -> Lifecycle | None:
    """Read the lifecycle file: states with names, and the moves between them."""
    data = checker.read_file(path)
    if data is None:
        return None
    states = {}
    raw_states = data.get("states")
    if not isinstance(raw_states, Mapping_) or not raw_states:
        checker.report(data.line_of("states"), "states: expected a mapping of state names")
        return None
    for state, names in raw_states.items():
        texts = checker.texts(names, raw_states.line_of(state), f"states.{state}")
        if texts is not None:
            states[state] = texts
    initial = data.get("initial")
    if initial not in raw_states:
        checker.report(data.line_of("initial"), f"initial: {initial!r} is not one of the states")
    moves = []
    raw_moves = data.get("moves")
    if not isinstance(raw_moves, list) or not raw_moves:
        checker.report(data.line_of("moves"), "moves: expected a list of {trigger, source, dest}")
        return None
    for item in raw_moves:
        move = _move(checker, item, raw_states, data.line_of("moves"))
        if move is not None:
            moves.append(move)
    for trigger in sorted(set(TRIGGERS) - {m.trigger for m in moves}):
        checker.report(
            data.line_of("moves"), f"moves: no move for '{trigger}' (the engine fires it)"
        )
    if len(states) != len(raw_states) or len(moves) != len(raw_moves) or initial not in states:
        return None
    return Lifecycle(str(initial), states, tuple(moves), path.name)


def _move(checker: Problems, item: Any, states: Mapping[str, Any], line: int) -> Move | None:
    if not isinstance(item, Mapping_):
        checker.report(line, "moves: each move must be a mapping")
        return None
    line = item.line
    ok = True
    for key in item:
        if key not in _MOVE_KEYS:
            checker.report(line, f"moves: unknown key '{key}'")
            ok = False
    trigger = item.get("trigger")
    if trigger not in TRIGGERS:
        checker.report(line, f"moves: unknown trigger {trigger!r} (known: {', '.join(TRIGGERS)})")
        ok = False
    sources = item.get("source")
    sources = sources if isinstance(sources, list) else [sources]
    for name in [*sources, item.get("dest")]:
        if name not in states:
            checker.report(line, f"moves: unknown state {name!r}")
            ok = False
    conditions = item.get("conditions", [])
    conditions = conditions if isinstance(conditions, list) else [conditions]
    for name in conditions:
        if name not in CONDITIONS:
            known = ", ".join(CONDITIONS)
            checker.report(line, f"moves: unknown condition {name!r} (known: {known})")
            ok = False
    if not ok:
        return None
    return Move(str(trigger), tuple(sources), str(item["dest"]), tuple(conditions), line)
