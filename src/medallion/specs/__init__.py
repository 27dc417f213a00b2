"""Specs: plain, immutable descriptions of tables. No Spark here."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from medallion.specs.base import Model, TableSpec
from medallion.specs.bronze import BronzeSpec
from medallion.specs.gold import Aggregation, GoldSpec, GroupKey
from medallion.specs.query import QuerySpec
from medallion.specs.rules import Rule
from medallion.specs.silver import Join, SilverSpec

#: Every spec kind, tagged by its ``kind`` field (the closed set backends dispatch over).
AnySpec = Annotated[BronzeSpec | SilverSpec | GoldSpec | QuerySpec, Field(discriminator="kind")]
SPEC_TYPES: tuple[type[TableSpec], ...] = (BronzeSpec, SilverSpec, GoldSpec, QuerySpec)

__all__ = [
    "SPEC_TYPES",
    "Aggregation",
    "AnySpec",
    "BronzeSpec",
    "GoldSpec",
    "GroupKey",
    "Join",
    "Model",
    "QuerySpec",
    "Rule",
    "SilverSpec",
    "TableSpec",
]
