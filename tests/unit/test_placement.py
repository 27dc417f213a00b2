"""Where code lives: backends do not reach into each other, old import paths still work,
and identifiers are backtick-quoted by one helper only.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "medallion"

#: Deprecated module path → the module it now is.
ALIASES = {
    "medallion.context": "medallion.query_context",
    "medallion.files.load": "medallion.files.document",
    "medallion.quality.sqlexpr": "medallion.specs.sqlexpr",
    "medallion.spark_project": "medallion.backends.spark_pipelines.project",
}


def module_name(path: Path, root: Path = SRC) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path = SRC) -> set[str]:
    """Every module ``path`` imports, at its top level or inside functions (lazy imports)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def test_imported_modules_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    folder = tmp_path / "src" / "medallion" / "backends"
    folder.mkdir(parents=True)
    file = folder / "toy.py"
    file.write_text("def f():\n    from .local import runner\n    import medallion.core\n")
    assert imported_modules(file, tmp_path / "src") == {
        "medallion.backends.local", "medallion.backends.local.runner", "medallion.core"}


def test_no_backend_imports_the_local_runner() -> None:
    local = PACKAGE / "backends" / "local"
    offenders = {
        module_name(path): sorted(m for m in imported_modules(path)
                                  if m == "medallion.backends.local"
                                  or m.startswith("medallion.backends.local."))
        for path in sorted((PACKAGE / "backends").rglob("*.py"))
        if local not in path.parents
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_and_specs_import_no_backend() -> None:
    offenders = {
        module_name(path): sorted(m for m in imported_modules(path)
                                  if m.startswith("medallion.backends"))
        for folder in ("core", "specs") for path in sorted((PACKAGE / folder).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize(("old", "new"), sorted(ALIASES.items()))
def test_deprecated_alias_is_the_new_module(old: str, new: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated; import {new} instead"):
        alias = importlib.import_module(old)
    module = importlib.import_module(new)
    names = [n for n in vars(module) if not n.startswith("__")]
    assert names
    assert [n for n in names if getattr(alias, n) is not getattr(module, n)] == []


def backtick_quoting(tree: ast.AST) -> list[int]:
    """Lines that build a backtick-quoted identifier by hand.

    ``f"`{name}`"`` (a backtick right before or after an interpolated value), ``"`" + name``,
    and ``name.replace("`", "``")``. A docstring's ``:func:`{name}``` role, a backtick in a
    message (``"run `medallion run`"``) and a parser comparing characters with ``"`"`` are not.
    """
    lines: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = node.values
            for i, part in enumerate(parts):
                if not isinstance(part, ast.FormattedValue):
                    continue
                prev = _text(parts[i - 1]) if i > 0 else ""
                after = _text(parts[i + 1]) if i + 1 < len(parts) else ""
                if prev.endswith(":`"):  # a docstring role, :func:`{name}`
                    continue
                if prev.endswith("`") or after.startswith("`"):
                    lines.append(node.lineno)
                    break
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            if any(isinstance(side, ast.Constant) and side.value in ("`", "``")
                   for side in (node.left, node.right)):
                lines.append(node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "replace" and node.args
              and isinstance(node.args[0], ast.Constant) and node.args[0].value == "`"):
            lines.append(node.lineno)
    return sorted(lines)


def _text(node: ast.expr) -> str:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""


def test_backtick_quoting_check_finds_each_form() -> None:
    source = '''
a = f"`{name}`"
b = "`" + name + "`"
c = name.replace("`", "``")
d = f"see :func:`{name}` and run `medallion run` for {name}"
e = ch == "`"
'''
    assert backtick_quoting(ast.parse(source)) == [2, 3, 3, 4]


def test_only_quote_identifier_quotes_identifiers() -> None:
    from medallion.specs.sqlexpr import quote_identifier

    assert quote_identifier("order id") == "`order id`"
    assert quote_identifier("a`b") == "`a``b`"
    helper = PACKAGE / "specs" / "sqlexpr.py"
    found = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py")) if path != helper
        if (lines := backtick_quoting(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert found == {}
