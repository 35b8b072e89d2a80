"""Documents saved for a person (letters, exports the console writes): one folder each.

`documents/<messenger>-<user>/` under the data folder, so that forgetting the person removes
exactly their documents and nobody else's.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from flows.model import ConversationKey

FOLDER = "documents"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def folder_of(data_dir: Path, key: ConversationKey) -> Path:
    """Return the person's documents folder (not created).

    The name is readable (`console-local`); a name that had to be changed to be safe on disk
    gets a hash of the real one, so two people never share a folder.
    """
    name = f"{key.messenger}-{key.user_id}"
    safe = _UNSAFE.sub("_", name)
    if safe != name or safe.startswith("."):
        safe = f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
    return data_dir / FOLDER / safe


def count(folder: Path) -> int:
    """Return how many files the folder holds (0 when there is none)."""
    if not folder.is_dir():
        return 0
    return sum(1 for path in folder.rglob("*") if path.is_file())


def remove(folder: Path) -> int:
    """Delete the folder and what it holds; return how many files went."""
    removed = count(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return removed
