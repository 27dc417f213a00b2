"""The import graph of ``src/medallion``: no cycles, and the layers point one way.

The graph is read from the source (no import runs): every ``import`` / ``from ... import``
statement, at module level or inside a function (lazy imports count), becomes an edge to the
medallion module it names (``from pkg import name`` → ``pkg.name`` when that is a module).
Two kinds of imports are left out, on purpose:

- imports under ``if TYPE_CHECKING:``: they never run, they only name types for mypy;
- the implicit import of a module's parent package: ``import medallion.specs.base`` runs
  ``medallion/__init__.py`` first, and that re-exports the public API from everywhere, so
  counting it would put every module in one cycle and say nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
#: The cycle the other half of issue 15 breaks (running Python pipeline files in one place).


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SRC / "medallion").rglob("*.py"))}


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, function bodies included, TYPE_CHECKING not."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes(ast.Module(body=[other], type_ignores=[]))
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _import_nodes(child)


def imports_of(name: str) -> set[str]:
    """The medallion modules ``name`` imports (see the module docstring)."""
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        while target and target not in modules():
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in node.names:
            full = f"{base}.{alias.name}"
            add(full if full in modules() else base)
    return found


@cache
def graph() -> dict[str, frozenset[str]]:
    return {name: frozenset(imports_of(name)) for name in modules()}


def cycles() -> list[list[str]]:
    """One cycle (a path ``a → b → ... → a``) per strongly connected group of modules."""
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for name in sorted(edges):
        if name not in index:
            visit(name)
    return [_path_through(group, edges) for group in groups]


def _path_through(group: set[str], edges: dict[str, frozenset[str]]) -> list[str]:
    """A shortest cycle through the group's first module, as a path."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(edges[node] & group):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def show(found: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in found)


def test_the_graph_sees_lazy_imports_and_skips_type_checking_ones() -> None:
    # pipeline.run imports the local runner inside the method; ownership.py names Pipeline
    # only under TYPE_CHECKING.
    assert "medallion.backends.local" in graph()["medallion.pipeline"]
    assert "medallion.pipeline" not in graph()["medallion.backends.local.ownership"]
    assert "medallion.specs.errors" in graph()["medallion.specs.base"]


def test_no_import_cycle() -> None:
    found = cycles()
    assert not found, "import cycles:\n" + show(found)


def _imports_from(package: str) -> dict[str, set[str]]:
    return {name: set(targets) for name, targets in graph().items()
            if name == package or name.startswith(package + ".")}


@pytest.mark.parametrize(("layer", "forbidden"), [
    ("medallion.specs", ("medallion.core", "medallion.backends")),
    ("medallion.core", ("medallion.backends",)),
])
def test_layers_import_downwards_only(layer: str, forbidden: tuple[str, ...]) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _imports_from(layer).items()
        for target in targets
        if any(target == f or target.startswith(f + ".") for f in forbidden)
    )
    assert wrong == []


def test_no_backend_imports_the_pipeline_at_run_time() -> None:
    # pipeline.py reaches the backends (the runtime's backend, Pipeline.run); a backend
    # importing it back at run time would close a cycle. Backends name Pipeline and
    # Declaration under TYPE_CHECKING, and read the active pipeline through
    # medallion.declaring, which imports no backend that imports it.
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _imports_from("medallion.backends").items()
        for target in targets
        if target == "medallion.pipeline"
        and module != "medallion.backends"  # the package keeps its old names as aliases
    )
    assert wrong == []


def _names_in(node: ast.expr) -> Iterator[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            yield sub.id
        elif isinstance(sub, ast.Attribute):
            yield sub.attr


def test_no_isinstance_on_spec_types_outside_specs() -> None:
    # Ask the spec (writes(), streams(), ...), not its type: sqlmesh's behaviour on the kind.
    from medallion.specs import SPEC_TYPES, Definition, FlowSpec, TableSpec

    spec_types = {t.__name__ for t in (*SPEC_TYPES, Definition, FlowSpec, TableSpec)}
    found = sorted(
        f"{name}:{node.lineno}"
        for name, path in modules().items()
        if not name.startswith("medallion.specs")
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        and node.func.id == "isinstance" and len(node.args) == 2
        and spec_types & set(_names_in(node.args[1]))
    )
    assert found == []
