"""Read the local runner's event log, the way you query a Databricks pipeline's event log.

Example:
    >>> import medallion
    >>> medallion.expectation_metrics(warehouse="medallion-warehouse").show()  # doctest: +SKIP
    +--------------+-------------+-----------------+---------------+---------------+
    |       dataset|         name|   passed_records| failed_records|      pass_rate|
    ...

Databricks queries parse the JSON ``details`` column with the ``:`` operator
(``details:flow_progress:data_quality:expectations``), which open-source Spark supports on VARIANT
columns only. :func:`sql` runs such a query unchanged: it rewrites each ``column:path`` into
``get_json_object(column, '$.path')`` before handing the text to Spark.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from medallion.backends.local.eventlog_writer import EVENT_LOG_TABLE
from medallion.errors import MedallionError
from medallion.pipeline import DEFAULT_SCHEMA
from medallion.specs.sqlexpr import tokenize

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["event_log", "expectation_metrics", "rewrite_json_paths", "sql"]

_EXPECTATIONS_TYPE = (
    "array<struct<name: string, dataset: string, passed_records: bigint, "
    "failed_records: bigint>>"
)


def _session(spark: SparkSession | None) -> SparkSession:
    if spark is not None:
        return spark
    from medallion.backends.local.session import local_session

    return local_session()


def event_log(
    *,
    warehouse: str | os.PathLike[str] | None = None,
    schema: str = DEFAULT_SCHEMA,
    spark: SparkSession | None = None,
    table: str = EVENT_LOG_TABLE,
) -> DataFrame:
    """The event log table of a warehouse's schema as a DataFrame (every pipeline, every update).

    Raises:
        MedallionError: when no pipeline has run in that warehouse and schema yet.
    """
    from medallion.backends.local.warehouse import Warehouse

    wh = Warehouse(warehouse)
    if wh.version(schema, table) is None:
        raise MedallionError(
            f"no event log in {wh.root} (schema {schema}): run a pipeline there first, or pass "
            "warehouse= / $MEDALLION_WAREHOUSE pointing at the right folder"
        )
    return _session(spark).read.format("delta").load(wh.table_path(schema, table).as_uri())


def expectation_metrics(
    *,
    warehouse: str | os.PathLike[str] | None = None,
    schema: str = DEFAULT_SCHEMA,
    spark: SparkSession | None = None,
    pipeline: str | None = None,
    update_id: str | None = "latest",
) -> DataFrame:
    """Passed and failed records per dataset and rule, summed over ``flow_progress`` events.

    Args:
        warehouse: Warehouse folder (default ``$MEDALLION_WAREHOUSE`` or ./medallion-warehouse).
        schema: Schema holding the event log.
        spark: Session to use.
        pipeline: Only this pipeline (by name); default all.
        update_id: ``"latest"`` (the most recent update of each pipeline), an update id, or
            None for every update.

    Returns:
        Columns ``pipeline_name, update_id, dataset, name, passed_records, failed_records,
        pass_rate``; one row per update, dataset and rule.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    log = event_log(warehouse=warehouse, schema=schema, spark=spark)
    if pipeline is not None:
        log = log.where(F.col("origin.pipeline_name") == pipeline)
    if update_id == "latest":
        starts = log.where("event_type = 'create_update'").select(
            F.col("origin.pipeline_name").alias("p"),
            F.col("origin.update_id").alias("u"),
            F.row_number().over(
                Window.partitionBy("origin.pipeline_name").orderBy(F.col("timestamp").desc(),
                                                                   F.col("sequence.seq_no").desc())
            ).alias("rn"),
        ).where("rn = 1")
        log = log.join(starts, (F.col("origin.update_id") == F.col("u")), "left_semi")
    elif update_id is not None:
        log = log.where(F.col("origin.update_id") == update_id)
    exploded = log.where("event_type = 'flow_progress'").select(
        F.col("origin.pipeline_name").alias("pipeline_name"),
        F.col("origin.update_id").alias("update_id"),
        F.explode(F.from_json(
            F.get_json_object("details", "$.flow_progress.data_quality.expectations"),
            _EXPECTATIONS_TYPE,
        )).alias("e"),
    )
    return (
        exploded.groupBy("pipeline_name", "update_id", "e.dataset", "e.name")
        .agg(F.sum("e.passed_records").alias("passed_records"),
             F.sum("e.failed_records").alias("failed_records"))
        .withColumn("pass_rate", F.when(
            (F.col("passed_records") + F.col("failed_records")) == 0, F.lit(1.0)
        ).otherwise(F.col("passed_records") / (F.col("passed_records") + F.col("failed_records"))))
        .orderBy("pipeline_name", "update_id", "dataset", "name")
    )


def rewrite_json_paths(query: str) -> str:
    """Rewrite Databricks' ``column:a:b.c`` JSON-path syntax to ``get_json_object``.

    Example:
        >>> rewrite_json_paths("SELECT details:flow_progress:status FROM event_log")
        "SELECT get_json_object(details, '$.flow_progress.status') FROM event_log"
    """
    tokens = tokenize(query)
    out: list[str] = []
    last = 0
    i = 0
    while i < len(tokens) - 1:
        tok = tokens[i]
        nxt = tokens[i + 1]
        follows = tokens[i + 2] if i + 2 < len(tokens) else None
        if (
            tok.kind in ("ident", "qident")
            and nxt.kind == "op" and nxt.text == ":"
            and nxt.pos == tok.pos + len(tok.text)
            and follows is not None and follows.kind in ("ident", "qident")
            and (i == 0 or not (tokens[i - 1].kind == "op" and tokens[i - 1].text == "::"))
        ):
            path: list[str] = []
            j = i + 1
            end = tok.pos + len(tok.text)
            while (
                j + 1 < len(tokens)
                and tokens[j].kind == "op" and tokens[j].text in (":", ".")
                and tokens[j + 1].kind in ("ident", "qident")
            ):
                name = tokens[j + 1].text
                path.append(name.strip("`"))
                end = tokens[j + 1].pos + len(name)
                j += 2
            out.append(query[last : tok.pos])
            out.append(f"get_json_object({tok.text}, '$.{'.'.join(path)}')")
            last = end
            i = j
            continue
        i += 1
    out.append(query[last:])
    return "".join(out)


def sql(query: str, *, spark: SparkSession | None = None) -> DataFrame:
    """Run a Databricks event-log query on open-source Spark (see :func:`rewrite_json_paths`).

    Register the event log first, e.g. ``event_log(...).createOrReplaceTempView("event_log_raw")``
    or query ``medallion_db.event_log`` directly.
    """
    return _session(spark).sql(rewrite_json_paths(query))
