"""Read the text of a screenshot with RapidOCR (ONNX Runtime, models shipped in the wheel).

The OCR package is an optional extra (`pip install -e '.[ocr]'`; the Makefile installs it). When
it is missing, `load_reader()` returns None and the bot says it can only read text. Recognition
is CPU-heavy (about a second per screenshot on 2 cores), so it runs in a worker thread, one image
at a time, and the engine is loaded on first use rather than at start-up.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
from functools import cache
from typing import Any

from flows.conversation.filetype import MAX_DECODED_PIXELS, detect, too_large_to_read

log = logging.getLogger(__name__)

MIN_SCORE = 0.5  # lines recognised with less confidence than this are dropped


# One recognition at a time in the whole process: it uses every core.
_LOCK = threading.Lock()


@cache
def _recogniser() -> Any:
    # Loading the models takes a third of a second; every reader of the process shares them (a bot
    # has one reader, but the tests and benchmarks open the bot many times in one process).
    from PIL import Image
    from rapidocr_onnxruntime import RapidOCR

    # Pillow decodes for RapidOCR: past twice this it refuses rather than decode.
    Image.MAX_IMAGE_PIXELS = MAX_DECODED_PIXELS
    return RapidOCR()


class OcrReader:
    """A `flows.ports.TextReader` over RapidOCR."""

    def __init__(self) -> None:
        self._engine: Any = None  # the process's recogniser, once this reader has needed it

    async def read(self, data: bytes) -> str:
        """Return the text in the image, top to bottom, one recognised line per line."""
        return await asyncio.to_thread(self._read, data)

    def _read(self, data: bytes) -> str:
        # Sized from the header before anything is decoded: a small file can declare an image
        # that takes gigabytes once decoded (the callers check too; this holds for any caller).
        found = detect(data)
        if found is None:
            log.warning("OCR refused a file that is not a well-formed image")
            return ""
        if too_large_to_read(found):
            log.warning("OCR refused a %s image: too large to read", found.dimensions)
            return ""
        with _LOCK:
            if self._engine is None:
                self._engine = _recogniser()
            try:
                result, _ = self._engine(data)
            except Exception:  # an image it cannot decode is an image without text
                log.warning("OCR could not read an image", exc_info=True)
                return ""
        lines = []
        for box, text, score in result or []:
            if float(score) >= MIN_SCORE and str(text).strip():
                top = min(point[1] for point in box)
                left = min(point[0] for point in box)
                lines.append((round(top / 12), left, str(text).strip()))
        return "\n".join(text for _, _, text in sorted(lines))


def load_reader() -> OcrReader | None:
    """Return a reader when the OCR package is installed, else None."""
    if importlib.util.find_spec("rapidocr_onnxruntime") is None:
        log.info("OCR is not installed: screenshots cannot be read (pip install '.[ocr]')")
        return None
    return OcrReader()
