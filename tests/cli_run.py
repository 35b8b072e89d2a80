"""Run `python -m bot ...` as a person at a terminal would, without their bot settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with `args`; settings from the environment are left out unless in `env`."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "COMPLAINT_BOT_"))
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=60,
    )
