"""The examples declare exactly the reference pipeline that the demo and the e2e test run."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
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


# -- the Databricks Asset Bundle (no workspace is reachable: its structure is checked) ---------
def _load_yaml(path: Path) -> dict[str, object]:
    import yaml

    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def cli_version_admits(constraint: str) -> Callable[[str], bool]:
    """A ``databricks_cli_version`` constraint (comparisons joined by commas) as a predicate."""
    import operator
    import re

    ops = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
           "=": operator.eq}
    parts = [re.fullmatch(r"\s*(>=|<=|>|<|=)\s*(\d+)\.(\d+)\.(\d+)\s*", c)
             for c in constraint.split(",")]
    assert all(parts), constraint
    checks = [(ops[m.group(1)], tuple(int(g) for g in m.groups()[1:])) for m in parts if m]

    def admits(version: str) -> bool:
        v = tuple(int(x) for x in version.split("."))
        return all(op(v, bound) for op, bound in checks)

    return admits


def test_bundle_structure() -> None:
    import re

    bundle_dir = ROOT / "examples/orders"
    bundle = _load_yaml(bundle_dir / "databricks.yml")
    assert bundle["bundle"] == {"name": "medallion_orders",
                                "databricks_cli_version": ">= 0.258.0, < 1.0.0"}
    # the range admits the first CLI that uploads a pipeline's local wheel dependency, only
    admits = cli_version_admits(bundle["bundle"]["databricks_cli_version"])  # type: ignore[index]
    assert [admits(v) for v in ("0.257.0", "0.258.0", "0.272.1", "1.0.0")] == [
        False, True, True, False]
    resource_files = sorted(p for pattern in bundle["include"]  # type: ignore[attr-defined]
                            for p in bundle_dir.glob(pattern))
    assert [p.name for p in resource_files] == ["orders_pipeline.yml"]
    variables = bundle["variables"]
    assert isinstance(variables, dict)
    assert all("default" in v and "description" in v for v in variables.values())
    targets = bundle["targets"]
    assert isinstance(targets, dict)
    assert [name for name, t in targets.items() if t.get("default")] == ["dev"]

    # the artifact builds medallion's wheel into <repository>/dist
    (artifact,) = bundle["artifacts"].values()  # type: ignore[attr-defined]
    project = (bundle_dir / artifact["path"]).resolve()
    assert artifact["type"] == "whl"
    assert re.search(r'^name = "medallion"$', (project / "pyproject.toml").read_text(), re.M)
    assert "--wheel-dir dist" in artifact["build"]

    resource_file = resource_files[0]
    text = resource_file.read_text()
    assert set(re.findall(r"\$\{var\.(\w+)\}", text)) <= set(variables)
    (pipeline,) = _load_yaml(resource_file)["resources"]["pipelines"].values()  # type: ignore[index]
    assert pipeline["serverless"] is True
    assert pipeline["catalog"] == "${var.catalog}"
    # it installs that wheel
    (dependency,) = pipeline["environment"]["dependencies"]
    assert (resource_file.parent / dependency).resolve() == project / "dist" / "*.whl"
    # and runs the notebook, giving it the configuration it reads
    (library,) = pipeline["libraries"]
    notebook = (resource_file.parent / library["notebook"]["path"]).resolve()
    source = notebook.read_text()
    assert source.startswith("# Databricks notebook source\n")
    read_keys = set(re.findall(r'spark\.conf\.get\("(\w+)"', source))
    assert read_keys == set(pipeline["configuration"]) == {"raw_path"}


# -- the examples run as shipped: their default input exists and is the demo generator's ------
RAW = ROOT / "examples/orders/raw"


def test_shipped_sample_input_is_the_demo_generators_output(tmp_path: Path) -> None:
    from medallion.demo import data

    sys_path = str(ROOT / "examples/orders")
    sys.path.insert(0, sys_path)
    try:
        import make_sample_input as sample
    finally:
        sys.path.remove(sys_path)
    assert (sample.RAW, sample.ROWS, sample.FILES) == (RAW, 300, 2)
    # byte-identical orders files, bad rows included ('88.7x'-like amounts, NULL ids, copies)
    written = data.write_orders(tmp_path, data.order_records(sample.ROWS), files=sample.FILES)
    shipped = sorted((RAW / "orders").iterdir())
    assert [p.name for p in shipped] == [p.name for p in written] == [
        "orders-0000.json", "orders-0001.json"]
    assert [p.read_bytes() for p in shipped] == [p.read_bytes() for p in written]
    amounts = [json.loads(line)["amount"] for p in shipped for line in p.read_text().splitlines()]
    assert len(amounts) == 300
    assert sum(isinstance(a, str) for a in amounts) == 2
    # the customers: one parquet file, nothing else (no _SUCCESS or .crc)
    assert [p.name for p in (RAW / "customers").iterdir()] == ["customers.parquet"]
    import pyarrow.parquet as pq

    table = pq.read_table(RAW / "customers/customers.parquet")
    assert table.to_pylist() == data.customer_records(data.customer_count(300))


def test_examples_default_to_the_shipped_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # as documented: run from the repository root
    py = load_pipeline("examples/orders/pipeline.py")
    yml = load_pipeline("examples/orders/pipeline.yaml")
    notebooks = load_pipeline([ROOT / "examples/orders/dlt" / name for name in
                               ("bronze_layer.py", "silver_layer.py", "gold_layer.py")])
    for pipeline in (py, yml):
        paths = {d.name: d.spec.model_dump()["path"] for d in pipeline.declarations
                 if d.spec.layer == "bronze"}
        assert paths == {"bronze_orders": "examples/orders/raw/orders",
                         "bronze_customers": "examples/orders/raw/customers"}
        assert all((ROOT / p).is_dir() for p in paths.values())
    assert {d.name for d in notebooks.declarations} >= {"bronze_orders", "bronze_customers"}
    source = (ROOT / "examples/orders/dlt/bronze_layer.py").read_text()
    assert 'spark.conf.get("raw_path", "examples/orders/raw")' in source
    code = source.split("\nimport medallion.dlt as dlt\n")[1]  # below the header comment
    assert 'col("_metadata.file_path")' in code
    assert "input_file_name" not in code
    assert "schemaLocation" not in code
    silver = (ROOT / "examples/orders/dlt/silver_layer.py").read_text()
    assert ".cast(" not in silver
