"""Storage stands on its own: no import circle inside it, no arrow to `bot`, one way to open it.

Read from the source (every import, at the top or inside a function), not from what happens to
be loaded: an arrow drawn anywhere in a module is an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Return the modules `path` imports; `from package import x` is an arrow to `package`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def package(name: str) -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in sorted((ROOT / name).rglob("*.py"))}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import circle among the modules of `graph`, or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done or module not in graph:
            return None
        for target in sorted(graph[module]):
            found = visit(target, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    for module in graph:
        found = visit(module, [])
        if found:
            return found
    return None


def test_storage_has_no_import_circle() -> None:
    # `from storage import cases` inside storage/ reads as an arrow to the package module,
    # which imports the store back: the circle this rules out.
    assert cycle(package("storage")) is None


def test_storage_never_imports_the_bot_or_a_messenger() -> None:
    for module, targets in package("storage").items():
        wrong = {t for t in targets if t.split(".")[0] in ("bot", "telegram")}
        assert not wrong, f"{module} imports {sorted(wrong)}"


def test_only_the_composition_root_and_storage_name_the_sqlite_backend() -> None:
    # The scheduler, the CLI and forgetting work on the Store Protocol, whatever the backend.
    naming = [
        str(path.relative_to(ROOT))
        for part in ("bot", "flows")
        for path in sorted((ROOT / part).rglob("*.py"))
        if "SqliteStore" in path.read_text(encoding="utf-8")
    ]
    assert naming in ([], ["bot/app.py"])
