"""The docs' examples that need Spark: `medallion demo` / `run` commands and Python blocks
marked `spark` (their test_* functions are called with the pytest fixtures they name)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from medallion.cli import main
from tests.docs_examples import ROOT, commands, is_spark_block, pages, prepare

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SPARK_PAGES = [ROOT / "docs/cli.md", ROOT / "docs/local.md", ROOT / "docs/quality.md",
               ROOT / "docs/testing.md", ROOT / "docs/tutorial.md"]


def test_only_these_pages_need_spark() -> None:
    from tests.docs_examples import blocks

    needing = [p for p in pages(readme=False) if any(is_spark_block(b) for b in blocks(p)
                                         if "skip" not in b.marks)]
    assert needing == SPARK_PAGES


@pytest.mark.parametrize("page", SPARK_PAGES, ids=[p.name for p in SPARK_PAGES])
def test_spark_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            run_pipeline: Any, medallion_spark: Any,
                            capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("MEDALLION_ENV", raising=False)
    monkeypatch.delenv("MEDALLION_WAREHOUSE", raising=False)
    fixtures = {"run_pipeline": run_pipeline, "medallion_spark": medallion_spark}
    ran = 0
    for block in prepare(page, work):
        if not is_spark_block(block):
            continue
        if block.lang == "bash":
            for _, argv in commands(block):
                argv = [_absolute(arg, work) for arg in argv]
                assert main(argv) == 0, f"{block.where}: medallion {' '.join(argv)}:\n" + \
                    capsys.readouterr().out
                ran += 1
        else:
            namespace: dict[str, Any] = {"__name__": "__docs__"}
            exec(compile(block.text, block.where, "exec"), namespace)
            for name, func in namespace.items():
                if name.startswith("test_") and callable(func):
                    scratch = tmp_path / name
                    scratch.mkdir()
                    args = {p: fixtures.get(p, scratch)
                            for p in inspect.signature(func).parameters}
                    func(**args)
                    ran += 1
    assert ran >= 1
    if page.name == "tutorial.md":
        out = capsys.readouterr().out
        # the last command rebuilt silver_orders from all of bronze and left bronze alone
        last = out[out.rindex("[medallion] started"):]
        assert "[medallion] done silver_orders rows_in=1000 " in last
        assert "[medallion] up_to_date bronze_orders rows_in=0 written=0" in last
        # then the report page of the tutorial's warehouse: its two runs, the four rules
        assert "wrote report.html: pipeline 'orders', 2 update(s), 4 rule(s); latest update " \
            in last
        assert (work / "report.html").read_text().count('<figure class="trend"') == 4


def _absolute(arg: str, folder: Path) -> str:
    """``raw=medallion-warehouse/x`` as an absolute path when it names a folder under ``folder``.

    Spark resolves a relative path against the JVM's working directory. From the command line
    that is the folder the command runs in; in this test the session's JVM started in the
    repository root before the test changed folder, so relative data paths are made absolute.
    """
    key, sep, value = arg.partition("=")
    if sep and value and not Path(value).is_absolute() and (folder / value).exists():
        return f"{key}={folder / value}"
    return arg
