"""A backend written against the protocol alone: docs/architecture.md's "adding a backend".

It fills itself like a registry (``pyspark.pipelines``' ``GraphElementRegistry``): attached with
``Pipeline.attach``, it receives each declaration of the reference orders pipeline as the file
declares it, dispatches over a table from spec type to handler, and asks the spec, never its
type, what it writes and whether it streams. No Spark runs.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

import medallion
from medallion.backends.base import Backend, handler_for
from medallion.pipeline import Declaration
from medallion.specs import BronzeSpec, Definition, GoldSpec, SilverSpec

ORDERS = Path(__file__).resolve().parents[2] / "examples" / "orders" / "pipeline.py"


class ToyBackend:
    """Records ``(kind, table, streaming?, tables written)`` per declaration."""

    def __init__(self) -> None:
        self.datasets: list[tuple[str, str, bool | None, tuple[str, ...]]] = []
        self.streaming: dict[str, bool | None] = {}

    def declare(self, declaration: Declaration) -> None:
        handler = handler_for(self.HANDLERS, declaration, cannot="the toy backend cannot record")
        handler(self, declaration)

    def table(self, declaration: Declaration) -> None:
        spec = declaration.spec
        streams = spec.streams(lambda source: bool(self.streaming.get(source)))
        self.streaming[spec.writes()] = streams
        self.datasets.append((spec.layer, spec.writes(), streams, spec.written_tables()))

    HANDLERS: ClassVar[dict[type[Definition], Callable[[ToyBackend, Declaration], None]]] = {
        BronzeSpec: table, SilverSpec: table, GoldSpec: table}


def test_the_toy_backend_records_the_orders_pipeline() -> None:
    with medallion.Pipeline("orders") as pipeline:
        toy = pipeline.attach(ToyBackend())
        runpy.run_path(str(ORDERS), run_name="__medallion__")
    assert isinstance(toy, Backend)
    assert toy.datasets == [
        ("bronze", "bronze_orders", True, ("bronze_orders",)),
        ("bronze", "bronze_customers", False, ("bronze_customers",)),
        ("silver", "silver_orders", True, ("silver_orders", "quarantine_orders")),
        ("silver", "silver_customers", False, ("silver_customers",)),
        ("silver", "silver_orders_enriched", False, ("silver_orders_enriched",)),
        ("gold", "gold_daily_sales", False, ("gold_daily_sales",)),
        ("gold", "gold_customer_ltv", False, ("gold_customer_ltv",)),
    ]
    assert [d.key for d in pipeline.declarations] == [t for _, t, _, _ in toy.datasets]


def test_a_spec_type_missing_from_the_table_is_refused_by_name() -> None:
    with medallion.Pipeline("p") as pipeline:
        pipeline.attach(ToyBackend())
        with pytest.raises(medallion.BackendError) as caught:
            medallion.create_streaming_table("events")
    assert str(caught.value) == (
        f"streaming table 'events' ({pipeline['events'].location}): the toy backend cannot "
        "record specs of type StreamingTableSpec (it knows BronzeSpec, SilverSpec, GoldSpec)")
