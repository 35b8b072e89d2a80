"""Every path through every category flow, filed through the real engine, and every letter it gets.

The paths come from the flow files themselves (tests/flow_paths.py): each problem option, each
`next: when:` branch, each choice option, each remedy, optional questions answered and skipped.
Each path is walked through the engine on real SQLite and filed; then the letter to every rung of
its ladder that applies is written in Chinese and English, with the export zip, and read as the
person would read it. A template that fails on a path someone can take fails here.
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from cli_run import run_cli
from engine_chat import FLOWS, NOW, Person
from flow_paths import (
    PROBLEM,
    Attach,
    Choose,
    Pick,
    Skip,
    Type,
    answers_for,
    demands,
    every_route,
    expected_shows,
    give,
    missing,
    paths,
    press,
    text_problems,
    walk,
)
from flow_paths import Path as PathWalked

from bot.__main__ import main
from bot.deadlines import DeadlinePolicy, WorkCalendar
from bot.explain import AnalysisExplainer
from bot.export import CasePaperwork
from bot.letters import Templates
from flows.conversation.engine import SHANGHAI, Engine
from flows.definition.ladder import Rung
from flows.definition.schema import REMEDIES
from flows.definition.texts import pick
from flows.records import CaseRecord, Letter, Profile
from storage import SqliteStore

LANGS = FLOWS.languages
PATHS = [p for flow in FLOWS.categories() for p in paths(flow)]
TEMPLATES = Templates()
EXPLAINER = AnalysisExplainer()  # loading the rules once saves a third of the time
FRAUD_SMS = (
    "10690123456789\n【ETC服务】您的ETC已失效，请点击 http://etc-renz.cn 重新认证，逾期将停用。"
)


@dataclass
class Bot:
    """The engine as the app builds it (letters, exports, checks, real deadlines), no OCR."""

    engine: Engine
    store: SqliteStore
    paperwork: CasePaperwork
    folder: Path


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    store = await SqliteStore.open(":memory:", tmp_path / "data")
    paperwork = CasePaperwork(FLOWS, TEMPLATES, SHANGHAI, lambda: NOW, store.read_blob)
    engine = Engine(
        FLOWS,
        store,
        clock=lambda: NOW,
        deadlines=DeadlinePolicy(WorkCalendar(), SHANGHAI),
        explainer=EXPLAINER,
        paperwork=paperwork,
    )
    yield Bot(engine, store, paperwork, tmp_path)
    await store.close()


def test_the_paths_take_every_branch_option_and_remedy(capsys: pytest.CaptureFixture[str]) -> None:
    for flow in FLOWS.categories():
        walked = [p for p in PATHS if p.flow is flow]
        given = [(s, a) for p in walked for s, a in p.answers]
        assert {a.option for s, a in given if s == PROBLEM and isinstance(a, Choose)} == {
            o.id for o in flow.steps[PROBLEM].options
        }, flow.id
        taken = set().union(*(p.routes for p in walked))
        assert every_route(flow) <= taken, (flow.id, every_route(flow) - taken)
        asked = {s for s, _ in given}
        for step in flow.steps.values():
            if step.expect == "confirm":
                continue
            assert step.id in asked, (flow.id, step.id, "never asked")
            answers = [a for s, a in given if s == step.id]
            if step.expect in ("choice", "multi"):
                chosen = {a.option for a in answers if isinstance(a, Choose)}
                chosen |= {o for a in answers if isinstance(a, Pick) for o in a.options}
                assert chosen == {o.id for o in step.options}, (flow.id, step.id)
            if step.optional or (step.expect == "files" and step.min_files == 0):
                assert any(isinstance(a, Skip) for a in answers), (flow.id, step.id, "skipped")
                assert any(isinstance(a, Type | Attach | Choose) for a in answers), step.id
        if flow.steps[REMEDIES].other:
            assert any(isinstance(a, Pick) and a.other for s, a in given if s == REMEDIES)
    assert len(PATHS) >= sum(len(f.steps[PROBLEM].options) for f in FLOWS.categories())
    with capsys.disabled():
        print(f"\n{len(PATHS)} paths through {len(FLOWS.categories())} flows:")
        for flow in FLOWS.categories():
            print(f"  {flow.ref}: {' '.join(p.id for p in PATHS if p.flow is flow)}")


def applicable_rungs(case: CaseRecord) -> list[int]:
    flow = FLOWS.get(case.flow_id, case.flow_version)
    assert flow is not None
    return [i for i, rung in enumerate(flow.ladder) if rung.applies(case.answers)]


def addressee(rung: Rung, typed: dict[str, str], lang: str) -> str:
    """Return who the letter to `rung` must be addressed to, from the channel and the answers."""
    channel = FLOWS.channels[rung.channel]
    who = typed.get(rung.respondent or "") or pick(channel.name, lang)
    return pick(channel.addressee, lang).replace("{respondent}", who)


def letter_problems(letter: Letter, rung: Rung, path_shows: list[str], wanted: list[str]) -> list:
    problems = [f"{letter.file_stem}.txt: {p}" for p in text_problems(letter.text)]
    problems += [f"{letter.file_stem}.md: {p}" for p in text_problems(letter.markdown)]
    problems += [f"{letter.file_stem}: missing {m!r}" for m in missing(letter.text, path_shows)]
    problems += [f"{letter.file_stem}: no demand {m!r}" for m in missing(letter.text, wanted)]
    if letter.channel != rung.channel:
        problems.append(f"{letter.file_stem}: written to {letter.channel}, not {rung.channel}")
    return problems


async def file_path_case(bot: Bot, person: Person, path_index: int) -> CaseRecord:
    """Walk the path, file it, give (or leave out) a name; return the case as stored."""
    path = PATHS[path_index]
    await walk(person, path, seed=path_index)
    await press(person, "file")
    cases = await bot.store.list_cases(person.key)
    assert len(cases) == 1, person.text
    number = cases[0].number
    assert number in person.text  # the filing is confirmed before anything else
    if path.profile:
        await person.send("张三")
        await person.send("13800138000")
    else:
        await press(person, "pskip")
        await press(person, "pskip")
    case = await bot.store.get_case(person.key, number)
    assert case is not None
    return case


@pytest.mark.parametrize("index", range(len(PATHS)), ids=[p.id for p in PATHS])
async def test_every_path_files_and_every_letter_reads_right(bot: Bot, index: int) -> None:
    path = PATHS[index]
    person = Person(bot.engine, f"p{index}")
    case = await file_path_case(bot, person, index)
    profile = Profile("张三", "13800138000", True) if path.profile else Profile(asked=True)
    # The letter the bot sent right after filing, to the first rung, in the person's language.
    sent = [r.document.file_name for r in person.replies if r.document is not None]
    flow = path.flow
    first = flow.ladder[case.rung]
    assert f"{case.number}-{first.channel}-{path.lang}.txt" in sent, person.text
    assert FLOWS.catalog("paperwork_unavailable", path.lang) not in person.text

    typed = {s: a.text for s, a in path.answers if isinstance(a, Type)}
    problems: list[str] = []
    rungs = applicable_rungs(case)
    assert case.rung == rungs[0]
    for lang in LANGS:
        shows = expected_shows(path, lang)
        for i in rungs:
            rung = flow.ladder[i]
            wanted = demands(path, lang, FLOWS.channels[rung.channel].letter)
            letter = bot.paperwork.letter(case, lang, profile, rung=i)
            problems += letter_problems(letter, rung, shows, wanted)
            to = addressee(rung, typed, lang)
            if letter.addressee != to or to not in letter.text:
                problems.append(
                    f"{letter.file_stem}: addressed to {letter.addressee!r}, not {to!r}"
                )
            if path.profile and missing(letter.text, ["张三", "13800138000"]):
                problems.append(f"{letter.file_stem}: not signed with the name and phone given")
            channel = FLOWS.channels[rung.channel]
            if channel.short is not None:
                problems += short_problems(letter, channel.short.to, path, lang)
        export = await bot.paperwork.export(case, lang, profile)
        sent_files = next((a for _, a in path.answers if isinstance(a, Attach)), None)
        problems += zip_problems(export.content, case, lang, sent_files)
    assert not problems, f"{path.id}:\n" + "\n".join(problems)


def short_problems(letter: Letter, to: str, path: PathWalked, lang: str) -> list[str]:
    """Return what is wrong with the one-line report: offered when all its parts were given."""
    short = FLOWS.channels[letter.channel].short
    assert short is not None
    parts = [p.split("}")[0] for p in short.text.split("{")[1:]]
    given = {s: a for s, a in path.answers if isinstance(a, Type)}
    if not all(n in given for n in parts):
        return [] if letter.short is None else [f"{letter.file_stem}: a short report with a gap"]
    if letter.short is None:
        return [f"{letter.file_stem}: no short report to {to}"]
    problems = [f"{letter.file_stem} short: {p}" for p in text_problems(letter.short.text)]
    wanted = [shown for n in parts for shown in given[n].shows[lang]]
    problems += [
        f"{letter.file_stem} short: missing {m!r}" for m in missing(letter.short.text, wanted)
    ]
    if letter.short.to != to or "{" in letter.short.text:
        problems.append(f"{letter.file_stem}: short report {letter.short!r} ({short.text})")
    return problems


def zip_problems(data: bytes, case: CaseRecord, lang: str, evidence: object) -> list[str]:
    """Return what is wrong with a case's zip: its letters, readable files, the evidence."""
    problems = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        for name in names:
            if name.endswith((".txt", ".md")) and "/evidence/" not in name:
                text = archive.read(name).decode()
                found = text_problems(text, letter="/letters/" in name)
                problems += [f"{name}: {p}" for p in found]
    root = f"{case.number}/"
    letters = [n for n in names if n.startswith(root + "letters/") and n.endswith(f".{lang}.txt")]
    if not letters:
        problems.append(f"{case.number}.zip ({lang}): no letter")
    for part in ("case.txt", "timeline.txt", "answers.json", "case.json"):
        if root + part not in names:
            problems.append(f"{case.number}.zip: no {part}")
    files = [n for n in names if n.startswith(root + "evidence/") and not n.endswith("LIST.txt")]
    if isinstance(evidence, Attach) and len(files) != evidence.count:
        problems.append(f"{case.number}.zip: {len(files)} evidence files, {evidence.count} sent")
    return problems


async def answer_what_is_open(person: Person, seed: int) -> None:
    """Answer each question still open (the first way `answers_for` offers) up to the summary."""
    for _ in range(30):
        conv = await person.conversation()
        assert conv is not None and conv.flow_id is not None, person.text
        flow = FLOWS.get(conv.flow_id, conv.flow_version)
        assert flow is not None and conv.state is not None
        if conv.state == flow.confirm_step:
            return
        await give(person, answers_for(flow, flow.steps[conv.state], conv.answers)[0], seed)
    raise AssertionError(f"never reached the summary:\n{person.text}")


def documents(person: Person) -> dict[str, bytes]:
    return {r.document.file_name: r.document.content for r in person.replies if r.document}


async def test_a_checked_fraud_text_is_filed_with_its_letter_and_export(bot: Bot) -> None:
    person = Person(bot.engine, "checker")
    await person.send(FRAUD_SMS)  # pasted: the bot checks it
    await press(person, "sfile")  # "file a complaint about this message"
    await answer_what_is_open(person, seed=1)
    await press(person, "file")
    [filed] = await bot.store.list_cases(person.key)
    assert filed.number in person.text
    await press(person, "pskip")
    await press(person, "pskip")
    sent = documents(person)
    letter = next((v.decode() for k, v in sent.items() if k.endswith("-zh.txt")), None)
    assert letter is not None, person.text
    assert "10690123456789" in letter and "您的ETC已失效" in letter
    assert not text_problems(letter)

    for command, suffix in (
        (f"/letter {filed.number}", "-zh.txt"),
        (f"/letter {filed.number} en", "-en.txt"),
    ):
        await person.send(command)
        text = next((v.decode() for k, v in documents(person).items() if k.endswith(suffix)), None)
        assert text is not None, f"{command}:\n{person.text}"
        assert "10690123456789" in text and not text_problems(text), text
    await person.send(f"/export {filed.number}")
    zipped = documents(person).get(f"{filed.number}.zip")
    assert zipped is not None, person.text
    case = await bot.store.get_case(person.key, filed.number)
    assert case is not None
    assert not zip_problems(zipped, case, "zh", Attach(1))  # the checked message is the evidence


async def test_cases_export_writes_a_fraud_case_without_a_traceback(tmp_path: Path) -> None:
    db, data = tmp_path / "db.sqlite3", tmp_path / "data"
    store = await SqliteStore.open(db, data)
    paperwork = CasePaperwork(FLOWS, TEMPLATES, SHANGHAI, lambda: NOW, store.read_blob)
    engine = Engine(FLOWS, store, clock=lambda: NOW, paperwork=paperwork)
    fraud = next(i for i, p in enumerate(PATHS) if p.id.startswith("sms-fraud-"))
    try:
        case = await file_path_case(Bot(engine, store, paperwork, tmp_path), Person(engine), fraud)
    finally:
        await store.close()
    out = tmp_path / "out" / f"{case.number}.zip"
    result = run_cli(
        "cases", "export", case.number, "--out", str(out), "--db", str(db), "--data-dir", str(data)
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    sent_files = next((a for _, a in PATHS[fraud].answers if isinstance(a, Attach)), None)
    assert not zip_problems(out.read_bytes(), case, case.language, sent_files)


# A template that reads an answer no path gives: what a person gets when a letter cannot be written.
BROKEN_SMS = (
    '{% extends "letter.zh.j2" %}\n{% block subject %}{{ v.no_such_answer }}{% endblock %}\n'
)


def broken_templates(folder: Path) -> Templates:
    shutil.copytree(TEMPLATES.folder, folder)
    (folder / "sms.zh.j2").write_text(BROKEN_SMS, encoding="utf-8")
    return Templates(folder)


async def file_with(templates: Templates, folder: Path) -> tuple[Person, str]:
    """File an SMS spam case in Chinese on a database under `folder`; return who and its number."""
    store = await SqliteStore.open(folder / "db.sqlite3", folder / "data")
    paperwork = CasePaperwork(FLOWS, templates, SHANGHAI, lambda: NOW, store.read_blob)
    engine = Engine(FLOWS, store, clock=lambda: NOW, paperwork=paperwork)
    spam = next(i for i, p in enumerate(PATHS) if p.id.startswith("sms-spam-") and p.lang == "zh")
    person = Person(engine)
    try:
        await walk(person, PATHS[spam], seed=spam)
        await press(person, "file")
        [filed] = await store.list_cases(person.key)
        assert filed.number in person.text  # filed and said so, whatever the letter does
        await press(person, "pskip")
        await press(person, "pskip")
    finally:
        await store.close()
    return person, filed.number


def test_a_letter_that_cannot_be_written_is_a_clear_message_not_a_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    templates = broken_templates(tmp_path / "templates")
    person, number = asyncio.run(file_with(templates, tmp_path))
    assert FLOWS.catalog("paperwork_unavailable", "zh") in person.text
    assert "Traceback" not in person.text and "no_such_answer" not in person.text
    # The console shows the log in the same terminal: one line naming the case and the cause.
    [logged] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged.exc_info is None and logged.exc_text is None
    assert number in logged.getMessage() and "no_such_answer" in logged.getMessage()

    monkeypatch.setattr("bot.letters.Templates", lambda: templates)  # imported by the command
    monkeypatch.setattr("bot.__main__.setup_logging", lambda level: None)  # keep pytest's logs
    out = tmp_path / f"{number}.zip"
    db, data = str(tmp_path / "db.sqlite3"), str(tmp_path / "data")
    code = main(["cases", "export", number, "--out", str(out), "--db", db, "--data-dir", data])
    err = capsys.readouterr().err
    assert code == 1
    [line] = err.splitlines()  # one line, no traceback: which case, which letter, why
    assert line.startswith(f"complaint-bot: case {number}: cannot write the letter to "), err
    assert line.endswith("(sms.zh.j2: 'dict object' has no attribute 'no_such_answer')"), err
    assert not out.exists()


def test_a_step_with_a_pattern_or_an_unknown_validator_is_handled() -> None:
    flow = FLOWS.categories()[0]
    text = next(s for s in flow.steps.values() if s.expect == "text" and s.validate is None)
    pattern = re.compile(r"[A-Z]{2}\d{6}")
    typed = [a for a in answers_for(flow, replace(text, pattern=pattern)) if isinstance(a, Type)]
    assert typed and all(pattern.fullmatch(a.text) for a in typed)
    with pytest.raises(AssertionError, match="no example answer for validator 'iban'"):
        answers_for(flow, replace(text, validate="iban"))
