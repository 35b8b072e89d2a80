"""Every benchmark still runs (tiny sizes, no figures checked: timing belongs to `make bench`)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from pg_server import binaries, required

ROOT = Path(__file__).resolve().parents[1]


def test_every_benchmark_runs_at_quick_sizes(tmp_path: Path) -> None:
    env = {**os.environ, "COMPLAINT_BOT_BENCH_DATA": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode in (0, 1), (
        done.stderr
    )  # 1: a target missed, which is not this test's business
    summary = done.stdout.split("== summary")[-1]
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    assert spec is not None and spec.loader is not None
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    verdicts = [line for line in summary.splitlines() if line.startswith(("holds", "MISSED"))]
    assert len(verdicts) == len(run_all.BENCHMARKS), done.stdout
    if binaries() is not None or required():  # the PostgreSQL halves ran, next to SQLite
        figures = ("postgres: cost at 2,000", "postgres: all due rows", "PostgreSQL / SQLite")
        for figure in (*figures, "2 workers / 1 ="):
            assert figure in done.stdout, done.stdout
