"""Image bomb: the memory one message can cost, before and after sizing images from the header.

Each measurement runs in a fresh process: it loads the OCR engine, reads one ordinary screenshot
to warm it up, resets the peak (Linux: /proc/self/clear_refs), notes RSS, then reads the image
under test and notes the peak RSS (VmHWM). `unguarded` hands the bytes straight to RapidOCR,
as the bot did before (RapidOCR decodes with Pillow, which only warns below twice its limit);
`bot` goes through `bot.ocr.OcrReader`, which reads the header first. The images are black
PNGs built in a blink (tests/fake_telegram/_media.py).

    .venv/bin/python benchmarks/image_bomb.py          # the table for the README
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fake_telegram import make_png_bomb  # noqa: E402 - needs the path above
from PIL import Image  # noqa: E402

PILLOW_DEFAULT = Image.MAX_IMAGE_PIXELS

SCREENSHOT = ROOT / "tests" / "data" / "sms-fraud.png"
IMAGES = {
    "bomb": (13000, 13000),  # the probe's file: 0.5 MB, 507 MB once decoded
    "ceiling": (4000, 5000),  # 20 MP: the largest image the bot still decodes
    "screenshot": (1170, 2532),  # a phone screenshot
    "long": (1290, 12000),  # a long scrolling screenshot, 15 MP, over 6 times as long as wide
}


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(way: str, image: str) -> None:
    """Print `rss_before peak seconds text_length` for one image read one way (child process)."""
    from bot.ocr import OcrReader

    data = make_png_bomb(*IMAGES[image])
    reader = OcrReader()
    asyncio.run(reader.read(SCREENSHOT.read_bytes()))  # loads the engine
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # start the peak (VmHWM) afresh: from here on, it is this image's
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    if way == "unguarded":
        Image.MAX_IMAGE_PIXELS = PILLOW_DEFAULT  # as before: Pillow's own limit, which only warns
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result, _ = reader._engine(data)
        except Exception:
            result = None
        text = str(result or "")
    else:
        text = asyncio.run(reader.read(data))
    seconds = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    print(f"{before:.0f} {peak:.0f} {seconds:.2f} {len(text)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("WAY", "IMAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(*args.child)
        return
    print(f"{'image':<26} {'read':<10} {'RSS before':>10} {'peak':>8} {'+MB':>6} {'s':>6}")
    for image, (width, height) in IMAGES.items():
        size = len(make_png_bomb(width, height)) // 1024
        for way in ("unguarded", "bot"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", way, image],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            before, peak, seconds = float(out[0]), float(out[1]), float(out[2])
            label = f"{width}x{height} PNG {size} KB"
            print(
                f"{label:<26} {way:<10} {before:>8.0f}MB {peak:>6.0f}MB"
                f" {peak - before:>+6.0f} {seconds:>6.2f}"
            )


if __name__ == "__main__":
    main()
