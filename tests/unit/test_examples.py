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


# -- the Databricks Asset Bundle (no workspace is reachable: its structure is checked) ---------
def _load_yaml(path: Path) -> dict[str, object]:
    import yaml

    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def test_bundle_structure() -> None:
    import re

    bundle_dir = ROOT / "examples/orders"
    bundle = _load_yaml(bundle_dir / "databricks.yml")
    assert bundle["bundle"] == {"name": "medallion_orders"}
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
