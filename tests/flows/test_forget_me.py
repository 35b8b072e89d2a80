"""Forget me: /forget (confirmed) and `complaint-bot users forget` delete a person entirely.

After it, no row in any table leads back to the person, their evidence files are gone from the
data folder, and a file someone else also sent (content-addressed: one file) is still there.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

from cli_run import run_cli
from engine_chat import (
    Person,
    attachment,
    file_from_evidence,
    open_engine,
    png,
    raw_connection,
    walk_sms_to_evidence,
)

from bot.app import Services
from bot.config import Settings
from bot.messengers.console import MESSENGER, Console
from flows.conversation.engine import Engine
from flows.model import ConversationKey, Forward
from storage import documents


def table_columns(raw: sqlite3.Connection) -> dict[str, set[str]]:
    tables = [
        row[0]
        for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not row[0].startswith("sqlite_")
    ]
    return {t: {c[1] for c in raw.execute(f"PRAGMA table_info({t})")} for t in tables}


def rows_of(raw: sqlite3.Connection, user_id: int) -> dict[str, int]:
    """Count, in every table, the rows that lead back to one user (by user_id or case_id)."""
    cases = "(SELECT id FROM cases WHERE user_id = ?)"
    found = {}
    for table, columns in table_columns(raw).items():
        if table == "users":
            where, params = "id = ?", (user_id,)
        elif "user_id" in columns:
            where, params = "user_id = ?", (user_id,)
        elif "case_id" in columns:
            where, params = f"case_id IN {cases}", (user_id,)
        else:
            continue
        found[table] = raw.execute(
            f"SELECT count(*) FROM {table} WHERE {where}", params
        ).fetchone()[0]
    return found


def user_id(raw: sqlite3.Connection, person: Person) -> int:
    row = raw.execute(
        "SELECT id FROM users WHERE messenger = ? AND external_id = ?",
        (person.key.messenger, person.key.user_id),
    ).fetchone()
    assert row is not None
    return int(row[0])


def files_under(data: Path) -> set[str]:
    return {p.name for p in (data / "evidence").rglob("*") if p.is_file()}


async def two_people(engine: Engine) -> tuple[Person, Person]:
    """Alice files a case with two photos and has a second intake with a third in progress;
    Bob files a case with one of Alice's photos (the same bytes: the same file on disk)."""
    alice, bob = Person(engine, "alice"), Person(engine, "bob")
    await walk_sms_to_evidence(alice)
    await alice.send(attachments=(attachment(png(1), unique="a1"), attachment(png(2), unique="a2")))
    await file_from_evidence(alice)
    await walk_sms_to_evidence(alice)  # a second complaint, left half-way with a file
    await alice.send(attachments=(attachment(png(3), unique="a3"),))
    await walk_sms_to_evidence(bob)
    await bob.send(attachments=(attachment(png(1), unique="b1"),))
    await file_from_evidence(bob)
    return alice, bob


async def test_forget_deletes_every_row_and_only_unshared_files(tmp_path: Path) -> None:
    engine, store = await open_engine(tmp_path)
    alice, bob = await two_people(engine)
    [alice_number] = [c.number for c in await store.list_cases(alice.key)]
    [bob_number] = [c.number for c in await store.list_cases(bob.key)]
    raw = raw_connection(tmp_path / "db.sqlite3")
    alice_id, bob_id = user_id(raw, alice), user_id(raw, bob)
    before = rows_of(raw, alice_id)
    assert before["cases"] == 1 and before["evidence"] == 3 and before["reminders"] == 1
    bob_before = rows_of(raw, bob_id)
    assert len(files_under(tmp_path / "data")) == 3

    await alice.send("/forget")
    assert "要删除我保存的关于你的全部内容吗" in alice.text
    assert rows_of(raw, alice_id) == before  # asking deletes nothing
    await alice.press("全部删除")
    assert alice.text == "已删除你的全部数据。再给我发消息，就从头开始。"

    assert all(count == 0 for count in rows_of(raw, alice_id).values()), rows_of(raw, alice_id)
    assert rows_of(raw, bob_id) == bob_before
    on_disk = files_under(tmp_path / "data")
    bob_case = await store.get_case(bob.key, bob_number)
    assert bob_case is not None
    assert on_disk == {e.sha256 for e in bob_case.evidence}  # the shared photo stays
    assert (tmp_path / "data" / bob_case.evidence[0].path).read_bytes() == png(1)
    assert await store.get_case(alice.key, alice_number) is None

    await alice.send("/start")  # a new person as far as the bot knows
    assert "你好" in alice.text
    raw.close()
    await store.close()


async def test_a_stale_or_declined_confirmation_deletes_nothing(tmp_path: Path) -> None:
    engine, store = await open_engine(tmp_path)
    alice = Person(engine)
    await walk_sms_to_evidence(alice)
    await alice.send("/forget")
    first = alice.button("全部删除")
    await alice.press("不删除")
    assert "好的，什么都没删。" in alice.text
    assert "短信截图" in alice.text  # back at the question they were on
    await alice.send(button=first.data)  # "yes" under the question already answered "no"
    assert "这个选项已经过期了" in alice.text and "短信截图" in alice.text

    await alice.send("/forget")
    second = alice.button("全部删除")
    await alice.send(attachments=(attachment(png(7)),))  # they went on answering instead
    assert "已收到 1 份" in alice.text
    await alice.send(button=second.data)
    assert "这个选项已经过期了" in alice.text
    conv = await alice.conversation()
    assert conv is not None and conv.state == "evidence"
    assert conv.answers["problem"] == "spam" and len(conv.answers["evidence"]) == 1
    await store.close()


async def test_forget_from_someone_the_bot_never_met_stores_nothing(tmp_path: Path) -> None:
    engine, store = await open_engine(tmp_path)
    stranger = Person(engine, "stranger")
    await stranger.send("/forget")
    assert stranger.text == "我这里没有保存你的任何数据。"
    assert await stranger.conversation() is None
    await store.close()


async def test_an_operator_forgets_someone_from_the_command_line(tmp_path: Path) -> None:
    engine, store = await open_engine(tmp_path)
    await two_people(engine)
    await store.close()
    db, data = str(tmp_path / "db.sqlite3"), str(tmp_path / "data")
    where = ("--db", db, "--data-dir", data)

    declined = run_cli("users", "forget", "test:alice", *where, stdin="n\n")
    assert declined.returncode == 1
    assert (
        "test:alice: 1 conversation(s), 1 case(s), 3 evidence item(s) (2 file(s))"
        in declined.stdout
    )
    assert "nothing deleted" in declined.stdout
    assert len(files_under(tmp_path / "data")) == 3

    done = run_cli("users", "forget", "test:alice", *where, "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("forgot test:alice: 1 conversation(s), 1 case(s)")
    raw = raw_connection(tmp_path / "db.sqlite3")
    assert [tuple(r) for r in raw.execute("SELECT external_id FROM users")] == [("bob",)]
    assert raw.execute("SELECT count(*) FROM evidence").fetchone()[0] == 1
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    assert len(files_under(tmp_path / "data")) == 1

    again = run_cli("users", "forget", "test:alice", *where, "--yes")
    assert again.returncode == 1 and "no user test:alice" in again.stderr
    bad = run_cli("users", "forget", "alice", *where, "--yes")
    assert bad.returncode == 1
    assert "ID: expected messenger:user_id like telegram:123, got 'alice'" in bad.stderr


class ReadsFraud:
    """A stand-in OCR: every screenshot says the same suspicious text."""

    async def read(self, data: bytes) -> str:
        return "【银行】您的账户异常，请点击 http://bank-verify.cc 验证"


async def test_a_checked_screenshot_leaves_no_file_once_it_is_dropped(tmp_path: Path) -> None:
    from bot.explain import AnalysisExplainer

    engine, store = await open_engine(tmp_path, explainer=AnalysisExplainer(), reader=ReadsFraud())
    alice = Person(engine)
    await alice.send("/start")
    await alice.send(attachments=(attachment(png(1), unique="s1"),))
    assert "我从截图里认出的文字" in alice.text
    assert len(files_under(tmp_path / "data")) == 1
    await alice.send(attachments=(attachment(png(2), unique="s2"),))  # a new check replaces it
    assert files_under(tmp_path / "data") == {
        p.name for p in (tmp_path / "data" / "evidence").rglob("*") if p.is_file()
    }
    assert len(files_under(tmp_path / "data")) == 1
    await alice.press("没问题")  # "it's fine": the screenshot is not kept
    assert files_under(tmp_path / "data") == set()

    await alice.send(attachments=(attachment(png(3), unique="s3"),))
    await alice.press("投诉这条消息")  # filed as evidence: the file stays with its row
    assert len(files_under(tmp_path / "data")) == 1
    await store.close()


async def test_a_screenshot_checked_during_a_complaint_leaves_no_file(tmp_path: Path) -> None:
    from bot.explain import AnalysisExplainer

    engine, store = await open_engine(tmp_path, explainer=AnalysisExplainer(), reader=ReadsFraud())
    alice = Person(engine)
    await alice.send("/start")
    await alice.press("短信")  # at a choice: a forwarded screenshot is checked, not an answer
    await alice.send(
        attachments=(attachment(png(4), unique="s4"),),
        forward=Forward("hidden_user", "某某", None, None),
    )
    assert "我从截图里认出的文字" in alice.text and "你正在填写一份投诉" in alice.text
    assert files_under(tmp_path / "data") == set()
    await store.close()


async def test_the_same_screenshot_checked_twice_leaves_no_file_once_dropped(
    tmp_path: Path,
) -> None:
    from bot.explain import AnalysisExplainer

    engine, store = await open_engine(tmp_path, explainer=AnalysisExplainer(), reader=ReadsFraud())
    alice = Person(engine)
    await alice.send("/start")
    for _ in range(2):
        await alice.send(attachments=(attachment(png(6), unique="s6"),))
        assert "我从截图里认出的文字" in alice.text
    await alice.press("没问题")
    assert files_under(tmp_path / "data") == set()
    await store.close()


async def test_forgetting_removes_the_documents_the_console_saved(tmp_path: Path) -> None:
    settings = Settings.defaults().replace(
        storage_db_path=str(tmp_path / "db.sqlite3"), storage_data_dir=str(tmp_path / "data")
    )
    services = await Services.open(settings)
    folders = {}
    for name in ("alice", "bob"):
        person = Person(services.engine, name, MESSENGER)
        await walk_sms_to_evidence(person)
        number = await file_from_evidence(person)
        folders[name] = services.store.documents_dir(person.key)
        console = Console(
            services.engine, user_id=name, stdout=io.StringIO(), documents=folders[name]
        )
        await console.send(f"/letter {number}")
        saved = {p.name for p in folders[name].iterdir()}
        assert saved == {f"{number}-china_mobile-zh.txt", f"{number}-china_mobile-zh.md"}
    assert folders["alice"] != folders["bob"]

    await console.send("/forget")  # bob's console, in the chat
    await console.send("全部删除")
    assert not folders["bob"].exists()
    assert len(list(folders["alice"].iterdir())) == 2  # someone else's stay
    await services.close()

    where = ("--db", settings.storage_db_path, "--data-dir", settings.storage_data_dir)
    preview = run_cli("users", "forget", "console:alice", *where, stdin="n\n")
    assert "2 saved document(s)" in preview.stdout and folders["alice"].exists()
    done = run_cli("users", "forget", "console:alice", *where, "--yes")
    assert done.returncode == 0 and "2 saved document(s)" in done.stdout, done.stderr
    assert not folders["alice"].exists()


def test_a_documents_folder_is_one_persons_whatever_their_id() -> None:
    data = Path("/data")
    plain = documents.folder_of(data, ConversationKey("console", "local"))
    assert plain == data / "documents" / "console-local"
    odd = [ConversationKey("console", i) for i in ("a/b", "a_b", "a:b", "..", "../x")]
    folders = [documents.folder_of(data, key) for key in odd]
    assert len(set(folders)) == len(odd)
    assert all(f.parent == data / "documents" and not f.name.startswith(".") for f in folders)
