"""Every example in a docstring runs: the API reference of the docs site is built from them."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import medallion

ROOT = Path(__file__).resolve().parents[2]
#: The pytest plugin module registers fixtures on import; its docstrings hold no examples.
#: Deprecated aliases hold no examples of their own (their module's are run under its name).
NOT_IMPORTED = {"medallion.testing.plugin", "medallion.context", "medallion.files.load",
                "medallion.quality.sqlexpr", "medallion.spark_project"}
MODULES = ["medallion", *sorted(
    m.name for m in pkgutil.walk_packages(medallion.__path__, "medallion.")
    if m.name not in NOT_IMPORTED)]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples refer to examples/orders/pipeline.yaml
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"


def test_docstring_examples_exist() -> None:
    finder = doctest.DocTestFinder()
    examples = sum(
        len(test.examples)
        for name in ("medallion", "medallion.declare", "medallion.files.document",
                     "medallion.diagram.mermaid", "medallion.progress")
        for test in finder.find(importlib.import_module(name)))
    assert examples >= 30
