"""Image bombs: small files that declare huge images are sized from their header, never decoded.

A 0.5 MB PNG of 13000x13000 pixels (decoded: 507 MB of RGB) sent as a document on Telegram, to
be checked (OCR) and as evidence; a JPEG whose header declares 60000x60000. The real PTB
Application talks to the fake Bot API; the reader is a spy, so the test sees whether the bot
would have decoded the image, without decoding it.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fake_telegram import FakeBotAPI, make_png, make_png_bomb
from PIL import Image
from telegram_chat import (
    Chat,
    bot_settings,
    conversation,
    finish_sms,
    running_bot,
    the_case,
    walk_sms_to_evidence,
)

from bot.config import Settings
from bot.ocr import OcrReader

DATA = Path(__file__).parent.parent / "data"


class SpyReader:
    """A `TextReader` that records what it was given to read."""

    def __init__(self) -> None:
        self.read_sizes: list[int] = []

    async def read(self, data: bytes) -> str:
        self.read_sizes.append(len(data))
        return "【某某银行】您的账户异常，请点击 bank-verify.xyz 验证"


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims `width` x `height` pixels."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return bot_settings(tmp_path)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> SpyReader:
    reader = SpyReader()
    monkeypatch.setattr("bot.app.load_reader", lambda: reader)
    return reader


async def test_a_png_bomb_to_check_is_refused_unread(settings: Settings, spy: SpyReader) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    bomb = make_png_bomb(13000, 13000)
    assert len(bomb) < 600 * 1024
    async with running_bot(fake, settings):
        alice.send_document(bomb, file_name="截图.png", mime_type="image/png")
        await chat.expect("截图.png太大了，没法识别。请发一张小一点的截图，或者直接粘贴文字")
        await chat.say("/lang en", "English")
        alice.send_document(bomb, file_name="shot.png", mime_type="image/png")
        await chat.expect("shot.png is too large to read. Send a smaller screenshot")
        # Few pixels, but a strip 9 times as long as it is wide: OCR would blow it up to 736
        # pixels wide, and its text shrunk to 216 pixels would be unreadable on the way.
        alice.send_document(make_png_bomb(1290, 12000), file_name="long.png", mime_type="image/png")
        await chat.expect("long.png is too large to read")
        # A screenshot of an ordinary size is still read.
        alice.send_document(make_png(1170, 2532), file_name="ok.png", mime_type="image/png")
        await chat.expect("bank-verify.xyz")
    assert len(spy.read_sizes) == 1  # only the ordinary one reached the reader


@pytest.mark.parametrize(
    ("bomb", "mime", "size"),
    [
        (make_png_bomb(13000, 13000), "image/png", "13000×13000 px"),
        (jpeg_declaring(60000, 60000), "image/jpeg", "60000×60000 px"),
    ],
    ids=["png", "jpeg"],
)
async def test_a_bomb_as_evidence_is_refused_with_its_size(
    settings: Settings, spy: SpyReader, bomb: bytes, mime: str, size: str
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        alice.send_document(bomb, file_name="bomb.img", mime_type=mime)
        await chat.expect(f"「bomb.img」太大了（{size}），上限是 10000×10000 px")
        alice.send_photo(make_png(40, 80))
        await chat.expect("收到")
        number = await finish_sms(chat)
    case = await the_case(settings, alice, number)
    assert [e.kind for e in case.evidence] == ["photo"]  # the bomb was not kept
    stored = list((Path(settings.storage_data_dir) / "evidence").rglob("*"))
    assert len([p for p in stored if p.is_file()]) == 1
    assert (await conversation(settings, alice)).state is None


async def test_the_ocr_reader_refuses_a_bomb_before_decoding() -> None:
    reader = OcrReader()
    assert await reader.read(make_png_bomb(13000, 13000)) == ""
    assert reader._engine is None  # refused before the OCR engine was even loaded
