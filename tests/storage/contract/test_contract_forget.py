"""Store contract: forgetting a person removes every row about them and the files only they sent."""

from __future__ import annotations

import pytest
from contract_data import ALICE, BOB, conversation, evidence, file_case

from flows.ports import Store
from flows.records import Deliveries, Forgotten, StepCommit


async def test_forgetting_removes_everything_about_the_person(store: Store) -> None:
    number = await file_case(store, photos=(b"mine only", b"shared"))
    draft_photo = await evidence(store, b"in the open draft", draft="d2")
    await store.commit(StepCommit(conversation(draft="d2"), evidence=[draft_photo]))
    theirs = await file_case(store, BOB, draft="b1", photos=(b"shared",))
    saved = store.documents_dir(ALICE)
    saved.mkdir(parents=True)
    (saved / "letter.txt").write_text("a letter")
    case = await store.get_case(ALICE, number)
    assert case is not None
    mine_only, shared = (e.path for e in case.evidence)

    preview = await store.forget_preview(ALICE)
    forgotten = await store.forget(ALICE)

    expected = Forgotten(
        conversations=1, cases=1, evidence=3, files=2, events=1, reminders=1, documents=1
    )
    assert forgotten == preview == expected
    assert await store.load_conversation(ALICE) is None
    assert await store.get_case(ALICE, number) is None
    assert await store.find_case(number) is None
    assert await store.list_cases(ALICE) == []
    assert [r.key for r in await store.pending_reminders()] == [BOB]
    for gone in (mine_only, draft_photo.path):
        with pytest.raises(OSError):
            await store.read_blob(gone)
    assert not saved.exists()
    # The other person's case, and the file they sent too, are untouched.
    kept = await store.get_case(BOB, theirs)
    assert kept is not None and [e.path for e in kept.evidence] == [shared]
    assert await store.read_blob(shared) == b"shared"
    assert await store.forget(ALICE) is None
    assert await store.forget_preview(ALICE) is None


async def test_forgetting_someone_who_never_wrote_finds_nothing(store: Store) -> None:
    await file_case(store, BOB)

    assert await store.forget_preview(ALICE) is None
    assert await store.forget(ALICE) is None
    assert len(await store.list_all_cases()) == 1


async def test_a_person_forgotten_starts_afresh_when_they_write_again(store: Store) -> None:
    await file_case(store)
    await store.forget(ALICE)

    fresh = conversation(state=None, draft=None)
    await store.commit(StepCommit(fresh, deliveries=Deliveries("telegram", ("after",))))

    assert await store.load_conversation(ALICE) == fresh
    assert await store.list_cases(ALICE) == []
    assert await store.forget_preview(ALICE) == Forgotten(
        conversations=1, cases=0, evidence=0, files=0, events=0, reminders=0
    )
