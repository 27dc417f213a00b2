"""One table, one pipeline: refuse, before any write, a pipeline writing another one's tables.

Every table the local runner creates records its pipeline in the table property
``medallion.pipeline`` (Databricks records ``pipelines.pipelineId`` the same way and lets one
pipeline only write a table). Two pipelines sharing a warehouse and a schema would otherwise
share tables and streaming checkpoints silently: the second one would read nothing new from
the first one's checkpoints, or overwrite its materialized views.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from medallion.backends.local.delta import OWNER_PROPERTY
from medallion.backends.local.warehouse import Warehouse, table_properties
from medallion.errors import TableOwnershipError
from medallion.graph import Graph
from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from medallion.pipeline import Pipeline


def owner_of(spark: SparkSession, warehouse: Warehouse, schema: str, table: str) -> str | None:
    """The pipeline recorded on an existing table (None: none recorded, or no table)."""
    path = warehouse.table_path(schema, table)
    if not warehouse.exists(schema, table):
        return None
    properties = table_properties(path)
    if properties is None:  # the metadata only survives in a checkpoint: ask Delta
        # SQL rather than DeltaTable.detail(): it also works under Spark Connect
        detail = spark.sql(f"DESCRIBE DETAIL delta.{quote_identifier(path.as_uri())}").first()
        properties = dict(detail["properties"] or {}) if detail is not None else {}
    return properties.get(OWNER_PROPERTY)


def check_owners(spark: SparkSession, warehouse: Warehouse, pipeline: Pipeline, graph: Graph,
                 refresh: set[str], *, shared: Iterable[str] = ()) -> None:
    """Raise :class:`TableOwnershipError` when the pipeline would write a table it does not own.

    Tables being fully refreshed (``refresh``: declaration keys) are taken over: they are
    recomputed from scratch and then belong to this pipeline. ``shared`` tables (the event
    log, which holds every pipeline's events) belong to no pipeline.
    """
    skip = set(shared)
    foreign: dict[str, list[str]] = {}
    for decl in graph.order:
        if decl.key in refresh:
            continue
        for table in decl.spec.outputs():
            if table in skip:
                continue
            owner = owner_of(spark, warehouse, pipeline.schema, table)
            if owner is not None and owner != pipeline.name:
                foreign.setdefault(owner, []).append(table)
    if not foreign:
        return
    owner, tables = next(iter(foreign.items()))
    names = ", ".join(f"'{t}'" for t in tables)
    noun = "table" if len(tables) == 1 else "tables"
    raise TableOwnershipError(
        f"pipeline '{pipeline.name}' would write {noun} {names} of schema {pipeline.schema} "
        f"in {warehouse.root}, which pipeline '{owner}' owns (table property "
        f"{OWNER_PROPERTY}); a table is written by one pipeline only. Give pipeline "
        f"'{pipeline.name}' another schema (schema: in its file, or Pipeline(schema=...)), or "
        f"take the {noun} over deliberately with --full-refresh {' '.join(tables)}, which "
        f"recomputes {'it' if len(tables) == 1 else 'them'} from scratch",
        pipeline=pipeline.name, owner=owner, tables=tables,
    )
