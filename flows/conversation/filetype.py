"""What a file really is: its type read from its content, its structure checked, its pixel size.

Only the headers and the container are read, never the pixels: a 194 KB PNG can declare
13000x13000 pixels, and decoding it takes half a gigabyte. Images are opened with Pillow's
format plugins (lazily: the size comes from the header) and `verify()`ed; a PDF needs its
`%PDF-` header and an `%%EOF` near its end; HEIC, which Pillow cannot read, must be a chain of
ISO boxes that starts with `ftyp` and ends exactly at the end of the file.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

# Evidence is stored and exported, never decoded by the bot; past this it is not a screenshot or
# a photo of a receipt but a file built to choke whoever opens it (the regulator's viewer too).
MAX_EVIDENCE_PIXELS = 10_000 * 10_000
# The most pixels the bot decodes for one message (to read a screenshot): the memory ceiling.
# Decoded RGB costs 3 bytes a pixel, about 60 MB here, and OCR holds a few copies.
MAX_DECODED_PIXELS = 20_000_000
# OCR scales the longer side down to 2000 pixels, then the shorter one up to at least 736: a thin
# strip (a long scrolling screenshot) becomes a giant image, +1 GB for a 1290x12000 one, with
# text shrunk past reading on the way. Longer than this many times its width is not read.
MAX_READ_ASPECT = 6

# Magic numbers of the formats we keep: (magic, offset, MIME type, Pillow format or None).
_SIGNATURES: tuple[tuple[bytes, int, str, str | None], ...] = (
    (b"%PDF-", 0, "application/pdf", None),
    (b"\xff\xd8\xff", 0, "image/jpeg", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "PNG"),
    (b"GIF87a", 0, "image/gif", "GIF"),
    (b"GIF89a", 0, "image/gif", "GIF"),
    (b"WEBP", 8, "image/webp", "WEBP"),
    (b"BM", 0, "image/bmp", "BMP"),
    (b"II*\x00", 0, "image/tiff", "TIFF"),
    (b"MM\x00*", 0, "image/tiff", "TIFF"),
    (b"ftypheic", 4, "image/heic", None),
    (b"ftypheix", 4, "image/heic", None),
    (b"ftypmif1", 4, "image/heic", None),
)
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "image/tiff": "tif",
    "image/heic": "heic",
    "text/plain": "txt",
}
# Readers look for the end-of-file marker in the last kilobyte (trailing bytes are common).
_PDF_TAIL = 1024


@dataclass(frozen=True, slots=True)
class FileType:
    """A file's real type, and for an image its size in pixels as its header declares."""

    mime: str
    width: int = 0
    height: int = 0

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.mime]

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def dimensions(self) -> str:
        """Return the size as people read it: `1170×2532 px`."""
        return f"{self.width}×{self.height} px"


def detect(data: bytes) -> FileType | None:
    """Return what `data` is when it is a well-formed file of a type we keep, else None."""
    for magic, offset, mime, pillow_format in _SIGNATURES:
        if data[offset : offset + len(magic)] != magic:
            continue
        if mime == "application/pdf":
            return FileType(mime) if b"%%EOF" in data[-_PDF_TAIL:] else None
        if mime == "image/heic":
            return FileType(mime) if _boxes_chain(data) else None
        assert pillow_format is not None
        size = _image_size(data, pillow_format)
        return None if size is None else FileType(mime, *size)
    return None


def too_large_to_read(found: FileType) -> bool:
    """Return True for an image whose reading would decode too much (see MAX_DECODED_PIXELS)."""
    if found.pixels > MAX_DECODED_PIXELS:
        return True
    return max(found.width, found.height) > MAX_READ_ASPECT * min(found.width, found.height)


def extension_of(mime: str | None) -> str | None:
    """Return the file extension for a MIME type we keep (`png`), None for any other."""
    return EXTENSIONS.get(mime or "")


def _image_size(data: bytes, pillow_format: str) -> tuple[int, int] | None:
    # The format's own plugin, not Image.open: open would guess among every format (so "BM"
    # and garbage could pass as something else) and warns or raises on large sizes, which are
    # ours to judge with the size in hand. Imported here: only files need Pillow, and start-up
    # (every `complaint-bot` command) no longer pays for it.
    from PIL import Image

    Image.init()
    try:
        factory, _ = Image.OPEN[pillow_format]  # KeyError: a Pillow built without the format
        image = factory(io.BytesIO(data), "")
        size = image.size
        image.verify()  # PNG: every chunk's CRC up to IEND; others: their headers parsed
    except Exception:  # Pillow raises many kinds on malformed input; all mean "not an image"
        return None
    width, height = size
    if width <= 0 or height <= 0:
        return None
    return width, height


def _boxes_chain(data: bytes) -> bool:
    """Return True when `data` is ISO base media boxes, `ftyp` first, ending at its end."""
    at = 0
    first = True
    while at < len(data):
        if at + 8 > len(data):
            return False
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if first and kind != b"ftyp":
            return False
        first = False
        if size == 1:  # a 64-bit size follows the type
            if at + 16 > len(data):
                return False
            (size,) = struct.unpack(">Q", data[at + 8 : at + 16])
        elif size == 0:  # the last box runs to the end of the file
            return True
        if size < 8:
            return False
        at += size
    return at == len(data)
