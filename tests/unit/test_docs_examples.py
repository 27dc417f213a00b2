"""Every code example of the docs site and README runs (those needing Spark: tests/spark)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import medallion
from medallion.cli import main
from tests.docs_examples import ROOT, blocks, is_spark_block, pages, prepare, run_block

PAGES = pages()


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MEDALLION_ENV", raising=False)
    todo = prepare(page, tmp_path)
    if page.name == "README.md":  # README's shell commands set up a machine; CI runs them
        todo = [b for b in todo if b.lang != "bash"]
    namespace: dict[str, Any] = {"__name__": "__docs__"}

    def output() -> str:
        captured = capsys.readouterr()
        return captured.out + captured.err

    with medallion.Pipeline(page.stem) as pipeline:
        for block in todo:
            if not is_spark_block(block):
                run_block(block, namespace, tmp_path, main, output)
    # the page's Python blocks together declare a whole pipeline: every table they read is
    # declared on the page (a snippet reading an undeclared table does not run as shown)
    if len(pipeline):
        pipeline.validate()
        declared = {out for d in pipeline.declarations for out in d.spec.outputs()}
        read_in_functions = {name for block in todo if block.lang == "python"
                             and not is_spark_block(block)
                             for name in _QUERY_READ.findall(block.text) if "." not in name}
        assert read_in_functions <= declared, (
            f"{page.name}: query functions read {sorted(read_in_functions - declared)}, which "
            "no example on the page declares")


#: A query function's read of a pipeline table (`ctx.read_stream("orders_eu")`): a name the
#: graph cannot see before the function runs.
_QUERY_READ = re.compile(r"\b(?:ctx|medallion|dlt)\.read(?:_stream)?\(\s*[\"']([\w.]+)[\"']")


def test_examples_are_found_and_skips_are_few() -> None:
    every = [b for page in PAGES for b in blocks(page)]
    langs = {b.lang for b in every}
    assert {"python", "yaml", "bash", "console", "mermaid"} <= langs
    skipped = [b.where for b in every if "skip" in b.marks]
    assert len(skipped) <= 5, skipped  # each names the test that runs it instead
    assert sum(1 for b in every if b.lang == "python") >= 15
