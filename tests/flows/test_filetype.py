"""What a file really is: types from content, structure checked, sizes from headers only."""

from __future__ import annotations

import io
import struct

import pytest
from fake_telegram import make_png_bomb
from PIL import Image

from flows.conversation.filetype import FileType, detect, too_large_to_read


def saved(form: str, size: tuple[int, int] = (30, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, form)
    return buffer.getvalue()


def box(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


HEIC = box(b"ftyp", b"heic\0\0\0\0mif1heic") + box(b"meta", b"\0" * 20) + box(b"mdat", b"x" * 9)


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (saved("PNG"), FileType("image/png", 30, 20)),
        (saved("JPEG"), FileType("image/jpeg", 30, 20)),
        (saved("GIF"), FileType("image/gif", 30, 20)),
        (saved("WEBP"), FileType("image/webp", 30, 20)),
        (saved("BMP"), FileType("image/bmp", 30, 20)),
        (saved("TIFF"), FileType("image/tiff", 30, 20)),
        (b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n", FileType("application/pdf")),
        (b"%PDF-1.7\n...\n%%EOF\n\n\0\0", FileType("application/pdf")),  # bytes after the end
        (HEIC, FileType("image/heic")),
        (make_png_bomb(13000, 13000), FileType("image/png", 13000, 13000)),  # header only
    ],
    ids=["png", "jpeg", "gif", "webp", "bmp", "tiff", "pdf", "pdf-trailing", "heic", "bomb"],
)
def test_well_formed_files_are_recognised_with_their_size(data: bytes, found: FileType) -> None:
    assert detect(data) == found


@pytest.mark.parametrize(
    "data",
    [
        b"BM" + bytes(200),  # the magic bytes and no bitmap header
        b"BM" + saved("BMP")[2:20],  # a bitmap header cut short
        saved("PNG")[:-20],  # a PNG cut before its end
        saved("PNG")[:40] + b"X" + saved("PNG")[41:],  # a chunk whose checksum fails
        saved("JPEG")[:100],  # a JPEG cut inside its headers
        saved("GIF")[:8],
        b"RIFF\0\0\0\0WEBPVP8 garbage",
        b"%PDF-1.4\n1 0 obj << >> endobj\n",  # no %%EOF: cut off
        HEIC[:-3],  # boxes that run past the end
        box(b"ftyp", b"heic") + b"\0\0\0\x02mdat",  # a box shorter than its own header
        b"<html>%PDF-1.4 %%EOF",
        b"",
    ],
)
def test_magic_bytes_without_the_structure_are_refused(data: bytes) -> None:
    assert detect(data) is None


@pytest.mark.parametrize(
    ("width", "height", "refused"),
    [
        (1170, 2532, False),  # a phone screenshot
        (4000, 5000, False),  # 20 megapixels: the most that is decoded
        (4000, 5001, True),
        (13000, 13000, True),
        (1080, 6480, False),  # 6 times as long as wide
        (1290, 12000, True),  # a long scrolling screenshot: OCR would blow it up
        (12000, 100, True),
    ],
)
def test_what_is_too_large_to_read(width: int, height: int, refused: bool) -> None:
    assert too_large_to_read(FileType("image/png", width, height)) is refused
