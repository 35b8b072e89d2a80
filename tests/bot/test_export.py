"""The case zip: names of evidence files, missing and oversized files, forwarded texts."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest
from fake_telegram import make_png
from test_letters import TZ, a_case

from bot.export import EvidenceFile, build_zip, evidence_name
from flows.definition.schema import FlowSet, load_flows
from flows.records import EvidenceRecord


@pytest.fixture(scope="module")
def flows() -> FlowSet:
    return load_flows()


def record(kind: str, **fields: object) -> EvidenceRecord:
    base: dict[str, object] = {
        "draft_id": "d",
        "step": "evidence",
        "kind": kind,
        "sha256": "ab" * 32,
        "path": "evidence/ab/ab/x",
        "size": 3,
        "created_at": datetime(2026, 11, 21, tzinfo=UTC),
    }
    base.update(fields)
    return EvidenceRecord(**base)  # type: ignore[arg-type]


PDF = b"%PDF-1.4\n% a tiny test file\n%%EOF\n"
PNG = make_png(4, 3)


@pytest.mark.parametrize(
    ("evidence", "content", "name"),
    [
        (record("photo", mime_type="image/jpeg"), None, "01-screenshot.jpg"),
        (record("photo", mime_type="image/png"), PNG, "01-screenshot.png"),
        (record("document", file_name="账单 11月.pdf"), PDF, "01-账单_11月.pdf"),
        (record("document", file_name="../../etc/passwd"), PDF, "01-passwd.pdf"),
        (record("document", file_name="C:\\Users\\me\\bank.pdf"), PDF, "01-bank.pdf"),
        (record("document", file_name="...", mime_type="application/pdf"), PDF, "01-file.pdf"),
        (record("forward", text="hi"), b"hi", "01-message.txt"),
        # named by what the content is, not by the name it was sent under
        (record("document", file_name="invoice.html"), PDF, "01-invoice.pdf"),
        (
            record("document", file_name="evidence.bat", mime_type="application/pdf"),
            PDF,
            "01-evidence.pdf",
        ),
        (record("document", file_name="shot.jpg", mime_type="image/jpeg"), PNG, "01-shot.png"),
        # kept before files were checked this closely: magic bytes only, no structure
        (
            record("document", file_name="x.bmp", mime_type="image/bmp"),
            b"BM" + b"\0" * 60,
            "01-x.bin",
        ),
        (
            record("document", file_name="a.pdf", mime_type="application/pdf"),
            b"%PDF-1.4 cut",
            "01-a.bin",
        ),
        (record("photo", mime_type="image/png"), b"\x89PNG\r\n\x1a\n broken", "01-screenshot.bin"),
        # the stored file is gone: the type recorded when it was checked
        (
            record("document", file_name="gone.html", mime_type="application/pdf"),
            None,
            "01-gone.pdf",
        ),
    ],
)
def test_evidence_gets_a_clear_and_safe_name(
    evidence: EvidenceRecord, content: bytes | None, name: str
) -> None:
    assert evidence_name(1, evidence, content) == name


def test_missing_and_oversized_files_are_listed_not_lost(flows: FlowSet) -> None:
    case = a_case("other", "en")
    files = [
        EvidenceFile("01-a.png", record("photo"), b"\x89PNG small"),
        EvidenceFile("02-gone.pdf", record("document", sha256="cd" * 32), None),
        EvidenceFile("03-huge.bin", record("document", sha256="ef" * 32), b"x" * 200_000),
        EvidenceFile("04-message.txt", record("forward", text="转发的原文"), b"stored copy"),
    ]
    data = build_zip(case, flows, [], files, "en", TZ, limit=100_000)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = f"{case.number}/evidence/"
        names = {n.removeprefix(root) for n in archive.namelist() if n.startswith(root)}
        assert names == {"01-a.png", "04-message.txt", "LIST.txt"}
        assert archive.read(root + "04-message.txt").decode() == "转发的原文"
        listing = archive.read(root + "LIST.txt").decode().splitlines()
    assert listing[1] == f"02-gone.pdf  sha256 {'cd' * 32}  MISSING: the stored file is gone"
    assert listing[2].startswith(f"03-huge.bin  sha256 {'ef' * 32}  NOT INCLUDED")


def test_the_same_case_exports_to_the_same_bytes(flows: FlowSet) -> None:
    case = a_case("wallet", "zh")
    first = build_zip(case, flows, [], [], "zh", TZ)
    assert build_zip(case, flows, [], [], "zh", TZ) == first
