"""Reading a screenshot of an SMS with the OCR package (Chinese and Latin text, offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ocr import OcrReader, load_reader

DATA = Path(__file__).parent.parent / "data"

pytest.importorskip("rapidocr_onnxruntime")


async def test_a_screenshot_is_read_line_by_line_top_to_bottom() -> None:
    reader = load_reader()
    assert isinstance(reader, OcrReader)
    text = await reader.read((DATA / "sms-fraud.png").read_bytes())
    lines = text.splitlines()
    assert lines[0] == "10690123456789"  # the sender, above the bubble
    assert "医保卡已被冻结" in lines[1]
    assert "nhsa-gov.cn.xyz" in lines[2] and "24小时内" in lines[2]
    assert "逾期将停用" in lines[3]


async def test_an_image_without_text_or_not_an_image_reads_as_nothing() -> None:
    reader = OcrReader()
    assert await reader.read((DATA / "not-really.png").read_bytes()) == ""
