"""The Spark 3.5 routes of medallion.core.compat give Spark 4's results, on either line.

Each helper is checked against what Spark itself computes (SQL try_cast, to_json) on the line the
suite runs on; on Spark 4 the helpers use the native API and on 3.5 their own route, so running
the suite on both lines (.ci/run) checks both.
"""

from __future__ import annotations

from typing import Any

import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DecimalType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from medallion.core.compat import json_value, parse_ddl, try_cast

pytestmark = pytest.mark.spark


def test_try_cast_is_sql_try_cast(medallion_spark: Any) -> None:
    df = medallion_spark.createDataFrame([("12",), ("12.5",), ("x",), (None,)], "s string")
    rows = df.select(
        try_cast(F.col("s"), IntegerType()).alias("ours"),
        F.expr("try_cast(s AS INT)").alias("sql"),
        try_cast(F.trim(F.col("s")), DecimalType(4, 1)).alias("dec"),
    ).collect()
    assert [(r.ours, r.sql) for r in rows] == [(12, 12), (None, None), (None, None),
                                               (None, None)]
    assert [None if r.dec is None else str(r.dec) for r in rows] == ["12.0", "12.5", None, None]


def test_parse_ddl(medallion_spark: Any) -> None:
    assert parse_ddl("a INT, b STRUCT<c: STRING>") == StructType([
        StructField("a", IntegerType()), StructField("b", StructType([
            StructField("c", StringType())]))])
    assert parse_ddl("bigint") == LongType()
    assert parse_ddl("decimal(10,2)") == DecimalType(10, 2)


def test_json_value_keeps_each_json_type(medallion_spark: Any) -> None:
    raw = '{"n": 12.5, "s": "12.3x", "q": "say \\"hi\\"", "o": {"a": [1, true]}, "z": null}'
    df = medallion_spark.createDataFrame([(raw,)], "raw string")
    fields = F.from_json("raw", "map<string,string>")
    encoded = df.select(*[json_value(F.element_at(fields, F.lit(k))).alias(k)
                          for k in "nsqoz"]).first()
    assert encoded is not None
    assert encoded.asDict() == {"n": "12.5", "s": '"12.3x"', "q": '"say \\"hi\\""',
                                "o": '{"a":[1,true]}', "z": "null"}
