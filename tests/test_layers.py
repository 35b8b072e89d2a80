"""The layers hold: no import circle, and no arrow from a lower part to a higher one.

Read from the source (ast), not by importing. An import inside a function counts for the
arrows (it still ties the parts together); circles are looked for among the imports at module
level, `if TYPE_CHECKING:` ones included: a type named across a circle is the same tangle, only
hidden from the interpreter. `from package import module` names the package too (its
`__init__` runs first: storage/__init__ importing storage.store closes a circle that way).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("flows", "storage", "bot")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = _modules()


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> Iterator[str]:
    """Yield the modules an import statement names (a `from` of a submodule names it)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:  # relative: from the module's own package
        package = module.split(".")
        is_package = MODULES.get(module, Path()).name == "__init__.py"
        anchor = package if is_package else package[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    yield base
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if sub in MODULES:
            yield sub


def _imports(module: str, *, module_level: bool) -> set[str]:
    """Return what `module` imports: all of it, or only its imports outside functions."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.update(_targets(node, module))
            elif module_level and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            else:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child])
                    elif not module_level:
                        visit([s for s in ast.walk(child) if isinstance(s, ast.stmt)])

    visit(tree.body)
    return found


def _graph(module_level: bool) -> dict[str, set[str]]:
    return {
        m: {t for t in _imports(m, module_level=module_level) if t in MODULES and t != m}
        for m in MODULES
    }


def circles(within: str = "") -> list[list[str]]:
    """Return the import circles among the project's modules under `within`."""
    graph = {
        m: {t for t in targets if _under(t, within)}
        for m, targets in _graph(module_level=True).items()
        if _under(m, within)
    }
    return circles_of(graph)


def circles_of(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the circles of a graph: its strongly connected parts of more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _under(module: str, package: str) -> bool:
    return not package or module == package or module.startswith(package + ".")


def arrows(source: str, targets: tuple[str, ...]) -> list[str]:
    """Return every `module -> import` from under `source` to under one of `targets`."""
    found = []
    for module in sorted(MODULES):
        if not _under(module, source):
            continue
        for name in sorted(_imports(module, module_level=False)):
            if any(_under(name, target) for target in targets):
                found.append(f"{module} -> {name}")
    return found


def test_the_graph_sees_the_project() -> None:
    """Guard the guard: the modules and arrows below are found at all."""
    assert {"flows.definition.schema", "flows.conversation.engine", "storage.store"} <= set(MODULES)
    assert "flows.definition.checker" in _graph(module_level=True)["flows.definition.schema"]
    assert arrows("bot.app", ("storage",)), "bot.app builds the store, so it imports storage"


def test_a_circle_is_found() -> None:
    """Circles of two and of three modules are reported; a chain into one is not in it."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c", "a"}, "f": {"a"}}
    assert sorted(circles_of(graph)) == [["a", "b"], ["c", "d", "e"]]
    assert circles_of({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", ["flows.definition", "bot"])
def test_no_circle_inside(package: str) -> None:
    assert circles(package) == []


def test_no_circle_in_the_conversation() -> None:
    assert circles("flows.conversation") == []


def test_no_circle_in_storage() -> None:
    assert circles("storage") == []


def test_no_circle_anywhere() -> None:
    assert circles() == []


def test_the_definition_never_imports_the_conversation() -> None:
    assert arrows("flows.definition", ("flows.conversation",)) == []


@pytest.mark.parametrize("module", ["flows.ports", "flows.records", "flows.model", "flows.errors"])
def test_the_shared_flows_modules_import_no_wing(module: str) -> None:
    assert arrows(module, ("flows.definition", "flows.conversation")) == []


def test_flows_never_imports_the_outside() -> None:
    outside = ("bot", "storage", "telegram", "sqlite3", "aiosqlite")
    assert arrows("flows", outside) == []


def test_storage_never_imports_bot() -> None:
    assert arrows("storage", ("bot",)) == []


def private_reaches(package: str) -> list[str]:
    """Return every `x._name` under `package` where x is not self or cls (another's private)."""
    found = []
    for module in sorted(MODULES):
        if not _under(module, package):
            continue
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                found.append(f"{module}:{node.lineno}: .{node.attr}")
    return found


def test_the_definition_reaches_into_no_other_module() -> None:
    """Readers report through a public seam, never another module's private (Checker._texts)."""
    assert private_reaches("flows.definition") == []
