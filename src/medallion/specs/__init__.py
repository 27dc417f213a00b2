"""Specs: plain, immutable descriptions of tables and flows. No Spark here."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from medallion.specs.base import Definition, Model, TableSpec
from medallion.specs.bronze import BronzeSpec
from medallion.specs.cdc import AutoCdcSnapshotSpec, AutoCdcSpec
from medallion.specs.flows import AppendFlowSpec, FlowSpec, SinkSpec, StreamingTableSpec
from medallion.specs.gold import Aggregation, GoldSpec, GroupKey, TimeWindow
from medallion.specs.query import QuerySpec
from medallion.specs.rules import Rule
from medallion.specs.silver import Join, SilverSpec

#: Every spec kind, tagged by its ``kind`` field (the closed set backends dispatch over).
AnySpec = Annotated[
    BronzeSpec | SilverSpec | GoldSpec | QuerySpec | StreamingTableSpec | AppendFlowSpec
    | AutoCdcSpec | AutoCdcSnapshotSpec | SinkSpec,
    Field(discriminator="kind"),
]
SPEC_TYPES: tuple[type[Definition], ...] = (
    BronzeSpec, SilverSpec, GoldSpec, QuerySpec, StreamingTableSpec, AppendFlowSpec,
    AutoCdcSpec, AutoCdcSnapshotSpec, SinkSpec,
)

__all__ = [
    "SPEC_TYPES",
    "Aggregation",
    "AnySpec",
    "AppendFlowSpec",
    "AutoCdcSnapshotSpec",
    "AutoCdcSpec",
    "BronzeSpec",
    "Definition",
    "FlowSpec",
    "GoldSpec",
    "GroupKey",
    "Join",
    "Model",
    "QuerySpec",
    "Rule",
    "SilverSpec",
    "SinkSpec",
    "StreamingTableSpec",
    "TableSpec",
    "TimeWindow",
]
