"""The bad-input corpus through the engine: every entry gets a clear reply, nothing breaks.

The entries marked `via: telegram` (media kinds, announced sizes, raw callback data) go through
the real PTB Application instead: tests/bot/test_bad_input_telegram.py.
"""

from __future__ import annotations

from pathlib import Path

from bad_input import (
    MAX_FILE_SIZE,
    Judge,
    load_corpus,
    place_person,
    reply_problems,
    walk_to_every_place,
)
from engine_chat import Person, attachment, open_engine

ENTRIES = load_corpus("engine")


def test_the_corpus_is_big_enough() -> None:
    assert len(ENTRIES) + len(load_corpus("telegram")) >= 200
    assert {e.at for e in ENTRIES} >= {"idle", "problem", "sender", "content", "evidence"}


async def test_every_bad_input_gets_a_clear_reply_and_leaves_a_valid_state(
    tmp_path: Path,
) -> None:
    engine, store = await open_engine(tmp_path, max_file_size=MAX_FILE_SIZE)
    places = await walk_to_every_place(Person(engine, "walker"))
    judge = Judge()
    problems: list[str] = []
    for entry in ENTRIES:
        person = Person(engine, f"bad-{entry.index}")
        await place_person(person, places, entry)
        before = await person.conversation()
        assert before is not None
        kwargs = {}
        if (file := entry.file) is not None:
            kwargs["attachments"] = (
                attachment(
                    file["bytes"],
                    kind=file["kind"],
                    name=file.get("name"),
                    mime=file.get("mime", "image/jpeg"),
                    size=file["size"],
                ),
            )
        replies = await person.send(entry.text, button=entry.button(before.turn), **kwargs)
        after = await person.conversation()
        problems += reply_problems(judge, entry, [r.text for r in replies], before, after)
    await store.close()
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
