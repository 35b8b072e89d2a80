"""Flow changes in flight: a conversation finishes on the flow version it started on.

Deploying version N+1 keeps N loadable as `NAME@N.yaml`; the conversation (and the case filed
from it) remembers `flow_id@version`. A version taken away entirely ends the unfinished intake
with a clear message instead of leaving it stuck.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine_chat import Person, attachment, open_engine, png, raw_connection

from flows.definition.schema import DEFINITIONS, load_flows

V1_ASK = "大概从哪天开始的？"
V2_ASK = "（新版）短信最早是哪天收到的？"
# "v1" below is the sms flow as shipped (version OLD); "v2" is a next version that asks differently.
OLD = load_flows().get("sms").version  # type: ignore[union-attr]
NEW = OLD + 1


def deploy(folder: Path, *, v1_as_old: bool, v2: bool) -> Path:
    """Write a flows folder: the shipped flows, with sms as v1 and/or a v2 that asks differently."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(DEFINITIONS, folder)
    sms = (DEFINITIONS / "sms.yaml").read_text(encoding="utf-8")
    (folder / "sms.yaml").unlink()
    if v1_as_old:
        (folder / f"sms@{OLD}.yaml").write_text(sms, encoding="utf-8")
    if v2:
        assert V1_ASK in sms
        newer = sms.replace(f"version: {OLD}", f"version: {NEW}", 1).replace(V1_ASK, V2_ASK)
        (folder / "sms.yaml").write_text(newer, encoding="utf-8")
    return folder


async def test_a_conversation_started_on_v1_finishes_on_v1_after_v2_is_deployed(
    tmp_path: Path,
) -> None:
    only_v1 = deploy(tmp_path / "flows-1", v1_as_old=True, v2=False)
    engine, store = await open_engine(tmp_path, load_flows(only_v1))
    alice = Person(engine, "alice")
    await alice.send("/start")
    await alice.press("短信")
    menu_button = alice.button("垃圾")  # a button on a message from before the deployment
    await alice.press("垃圾")
    await alice.send("10690123456789")
    assert V1_ASK in alice.text
    await store.close()

    both = deploy(tmp_path / "flows-2", v1_as_old=True, v2=True)
    flows = load_flows(both)
    assert flows.get("sms").version == NEW  # type: ignore[union-attr]
    engine, store = await open_engine(tmp_path, flows)
    alice = Person(engine, "alice")
    await alice.send(button=menu_button.data)  # stale: answered before the new version came
    assert "这个选项已经过期了" in alice.text and V1_ASK in alice.text
    await alice.send("昨天")
    await alice.press("每天")
    await alice.send("退订也没用的广告")
    await alice.press("退订过")
    await alice.press("跳过")
    await alice.press("跳过")
    await alice.press("移动")
    await alice.press("跳过")
    await alice.send(attachments=(attachment(png(1)),))
    await alice.press("完成")
    await alice.press("停止给我发短信")
    await alice.press("完成")
    assert "• 开始日期: 2026-11-21" in alice.text  # the v1 summary
    await alice.press("提交投诉")
    number = alice.text.split("编号 ")[1].split("。")[0]
    case = await engine.store.get_case(alice.key, number)
    assert case is not None and case.flow == f"sms@{OLD}"
    assert case.answers["started"]["date"] == "2026-11-21"
    await alice.send(f"/case {number}")  # shown with the questions of v1
    assert "• 开始日期: 2026-11-21" in alice.text and "当前投诉对象：中国移动" in alice.text

    bob = Person(engine, "bob")  # a conversation started now gets the new version
    await bob.send("/start")
    await bob.press("短信")
    await bob.press("垃圾")
    await bob.send("10690123456789")
    assert V2_ASK in bob.text
    conv = await bob.conversation()
    assert conv is not None and (conv.flow_id, conv.flow_version) == ("sms", NEW)
    await store.close()


async def test_a_version_taken_away_ends_the_unfinished_intake_clearly(tmp_path: Path) -> None:
    only_v1 = deploy(tmp_path / "flows-1", v1_as_old=True, v2=False)
    engine, store = await open_engine(tmp_path, load_flows(only_v1))
    alice = Person(engine, "alice")
    await alice.send("/start")
    await alice.press("短信")
    await alice.press("垃圾")
    await alice.send("10690123456789")
    await store.close()

    only_v2 = deploy(tmp_path / "flows-2", v1_as_old=False, v2=True)
    engine, store = await open_engine(tmp_path, load_flows(only_v2))
    alice = Person(engine, "alice")
    await alice.send("昨天")
    assert alice.text.startswith(
        "这份投诉表已经更新，你没填完的那份无法继续，已经删除。请重新开始。"
    )
    assert "遇到了什么问题" in alice.text  # and the menu, to start again on v2
    conv = await alice.conversation()
    assert conv is not None and conv.state is None and conv.flow_id is None
    raw = raw_connection(tmp_path / "db.sqlite3")
    assert raw.execute("SELECT count(*) FROM events WHERE case_id IS NULL").fetchone()[0] == 0
    raw.close()
    await alice.press("短信")
    await alice.press("垃圾")
    await alice.send("10690123456789")
    assert V2_ASK in alice.text
    await store.close()
