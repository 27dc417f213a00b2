"""The examples declare exactly the reference pipeline that the demo and the e2e test run."""

from __future__ import annotations

from pathlib import Path

import pytest

import medallion
from medallion.demo.orders import declare_orders_pipeline
from medallion.loader import load_pipeline

ROOT = Path(__file__).resolve().parents[2]


def specs(pipeline: medallion.Pipeline) -> dict[str, dict[str, object]]:
    return {d.name: d.spec.model_dump(by_alias=True) for d in pipeline.declarations}


@pytest.fixture
def reference() -> dict[str, dict[str, object]]:
    with medallion.Pipeline("orders") as p:
        declare_orders_pipeline("RAW")
    return specs(p)


def test_local_pipeline_file_matches_the_demo(reference: dict[str, dict[str, object]]) -> None:
    pipeline = load_pipeline(ROOT / "examples/orders/pipeline.py", configuration={"raw": "RAW"})
    assert specs(pipeline) == reference


def test_notebook_matches_the_demo(reference: dict[str, dict[str, object]]) -> None:
    class FakeConf:
        def get(self, key: str, default: str | None = None) -> str:
            assert key == "raw_path"
            return "RAW"

    class FakeSpark:
        conf = FakeConf()

    source = (ROOT / "examples/orders/orders_notebook.py").read_text()
    assert source.startswith("# Databricks notebook source\n")
    with medallion.Pipeline("orders") as p:
        exec(compile(source, "orders_notebook.py", "exec"), {"spark": FakeSpark()})
    assert specs(p) == reference
