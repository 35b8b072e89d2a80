"""The Telegram-only part of the bad-input corpus, through the real PTB Application.

Media the bot cannot use (voice, video, stickers, locations, contacts, polls, dice...), files
announced bigger than the limit (never fetched: no getFile call for them), files whose content
is not what they claim, and raw callback data from a forged or outdated client. Each person is
placed at their step directly in the database, then sends their one input; all at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bad_input import (
    MAX_FILE_SIZE,
    Judge,
    load_corpus,
    place_person,
    reply_problems,
    walk_to_every_place,
)
from engine_chat import Person
from fake_telegram import FakeBotAPI, FakeUser
from telegram_chat import bot_settings, read_back, running_bot

from flows.conversation.engine import Engine
from flows.definition.schema import load_flows
from flows.model import ConversationKey
from flows.records import Conversation
from storage import SqliteStore

ENTRIES = load_corpus("telegram")
POLL = {
    "id": "5001",
    "question": "投票？",
    "options": [
        {"persistent_id": "1", "text": "是", "voter_count": 0},
        {"persistent_id": "2", "text": "否", "voter_count": 0},
    ],
    "total_voter_count": 0,
    "is_closed": False,
    "is_anonymous": True,
    "type": "regular",
    "allows_multiple_answers": False,
    "allows_revoting": False,
    "members_only": False,
}
SPOT = {"latitude": 31.2304, "longitude": 121.4737}


def send_media(user: FakeUser, kind: str) -> None:
    """Send one message of a kind the bot cannot use as evidence or as an answer."""
    if kind == "voice":
        user.send_voice()
    elif kind == "video":
        user.send_video()
    elif kind == "sticker":
        user.send_sticker()
    elif kind == "location":
        user.send_location()
    elif kind == "contact":
        user.send_contact()
    elif kind == "video_note":
        note = user._file(b"\x00\x00\x00\x18ftypmp42", "video_note")
        user.send_raw({"video_note": {**note, "length": 240, "duration": 3}}, log="[video note]")
    elif kind == "audio":
        audio = user._file(b"ID3\x03fake-mp3", "audio", file_name="a.mp3", mime_type="audio/mpeg")
        user.send_raw({"audio": {**audio, "duration": 60}}, log="[audio]")
    elif kind == "animation":  # Telegram sends a GIF as both an animation and a document
        gif = user._file(b"GIF89a-fake", "animation", file_name="a.gif.mp4", mime_type="video/mp4")
        animation = {**gif, "width": 320, "height": 240, "duration": 2}
        user.send_raw({"animation": animation, "document": gif}, log="[animation]")
    elif kind == "venue":
        venue = {"location": SPOT, "title": "某某营业厅", "address": "南京路 1 号"}
        user.send_raw({"venue": venue, "location": SPOT}, log="[venue]")
    elif kind == "poll":
        user.send_raw({"poll": POLL}, log="[poll]")
    elif kind == "dice":
        user.send_raw({"dice": {"emoji": "🎲", "value": 3}}, log="[dice]")
    else:
        raise AssertionError(f"no way to send {kind}")


def send_file(user: FakeUser, spec: dict[str, Any]) -> str:
    """Send a photo or document as the entry describes; return its file_id."""
    content: bytes = spec["bytes"]
    if spec["kind"] == "document":
        update = user.send_document(
            content, file_name=spec["name"], mime_type=spec["mime"], file_size=spec["size"]
        )
        return str(update["message"]["document"]["file_id"])
    photo = user._file(content, "photo", mime_type="image/jpeg", file_size=spec["size"])
    size = {**photo, "width": 1280, "height": 960}
    size.pop("mime_type", None)
    user.send_raw({"photo": [size]}, log="[photo]")
    return str(photo["file_id"])


async def test_telegram_bad_input_gets_clear_replies_and_big_files_are_never_fetched(
    tmp_path: Path,
) -> None:
    settings = bot_settings(
        tmp_path,
        telegram_album_wait=0.1,
        telegram_forward_wait=0.1,
        max_file_mb=MAX_FILE_SIZE / (1024 * 1024),
    )
    fake = FakeBotAPI()
    users = {entry.index: fake.add_user(f"U{entry.index}") for entry in ENTRIES}
    before: dict[int, Conversation] = {}

    async def place_everyone(store: SqliteStore) -> None:
        engine = Engine(load_flows(), store)
        places = await walk_to_every_place(Person(engine, "walker"))
        for entry in ENTRIES:
            person = Person(engine, str(users[entry.index].id), messenger="telegram")
            await place_person(person, places, entry)
            saved = await store.load_conversation(person.key)
            assert saved is not None
            before[entry.index] = saved

    await read_back(settings, place_everyone)
    too_big: set[str] = set()
    async with running_bot(fake, settings):
        pressing = [e for e in ENTRIES if "button" in e.raw]
        for entry in pressing:  # a message of the bot's to press a button on
            users[entry.index].send_command("/help")
        await fake.wait_until(lambda: all(users[e.index].received for e in pressing))
        seen = {index: len(user.received) for index, user in users.items()}
        for entry in ENTRIES:
            user = users[entry.index]
            if "media" in entry.raw:
                send_media(user, entry.raw["media"])
            elif (spec := entry.file) is not None:
                file_id = send_file(user, spec)
                if spec["size"] > MAX_FILE_SIZE:
                    too_big.add(file_id)
            else:
                data = entry.button(before[entry.index].turn)
                assert data is not None
                user.press(user.received[-1].message_id, data, check=False)
        await fake.wait_until(
            lambda: all(len(users[e.index].received) > seen[e.index] for e in ENTRIES),
            timeout=20,
        )
        await fake.settle(quiet=0.3)

    fetched = {call.params.get("file_id") for call in fake.calls("getFile")}
    assert not fetched & too_big, "a file over the size limit was downloaded"
    assert fetched, "no file was fetched at all: the size check proves nothing"
    judge = Judge()
    problems: list[str] = []
    after = await read_back(settings, lambda store: _conversations(store, users))
    for entry in ENTRIES:
        texts = [m.text or "" for m in users[entry.index].received[seen[entry.index] :]]
        problems += reply_problems(judge, entry, texts, before[entry.index], after.get(entry.index))
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


async def _conversations(
    store: SqliteStore, users: dict[int, FakeUser]
) -> dict[int, Conversation | None]:
    return {
        index: await store.load_conversation(ConversationKey("telegram", str(user.id)))
        for index, user in users.items()
    }
