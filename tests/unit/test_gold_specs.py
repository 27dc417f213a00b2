"""Gold specs: typed aggregations, windows, streaming settings, clustering/partition checks."""

from __future__ import annotations

import pytest

import medallion
from medallion import GoldSpec, SpecError, TimeWindow, agg
from medallion.specs.errors import build_spec


def gold(**fields: object) -> GoldSpec:
    return build_spec(GoldSpec, {"name": "g", "source": "s",
                                 "aggregations": [agg.count(alias="n")], **fields})


def test_aggregation_sql_for_every_function() -> None:
    aggs = [
        agg.count(alias="rows"), agg.count("order_id", alias="orders"),
        agg.count_distinct("customer_id", alias="customers"),
        agg.approx_count_distinct("customer_id", alias="approx_customers"),
        agg.sum("amount", alias="total"), agg.avg("amount", alias="mean"),
        agg.min("order_date", alias="first_date"), agg.max("order_date", alias="last_date"),
        agg.first("status", order_by="order_date", alias="first_status"),
        agg.last("status", order_by="order_date", alias="last_status"),
        agg.approx_percentile("amount", 0.5, alias="median", accuracy=100),
    ]
    assert [a.sql() for a in aggs] == [
        "count(*)", "count(order_id)", "count(DISTINCT customer_id)",
        "approx_count_distinct(customer_id)", "sum(amount)", "avg(amount)", "min(order_date)",
        "max(order_date)",
        "min_by(status, CASE WHEN (order_date) IS NULL THEN NULL ELSE struct(order_date, "
        "status) END)",
        "max_by(status, CASE WHEN (order_date) IS NULL THEN NULL ELSE struct(order_date, "
        "status) END)",
        "approx_percentile(amount, 0.5, 100)",
    ]
    assert [a.alias for a in aggs if a.order_sensitive] == ["approx_customers", "median"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"func": "first", "column": "s", "alias": "x"}, "first needs order_by"),
    ({"func": "sum", "column": "s", "order_by": "t", "alias": "x"},
     "order_by only applies to first and last, not sum"),
    ({"func": "approx_percentile", "column": "a", "alias": "x", "percentage": 1.5},
     "approx_percentile needs a percentage between 0 and 1"),
    ({"func": "avg", "column": "a", "alias": "x", "percentage": 0.5},
     "percentage only applies to approx_percentile"),
    ({"func": "median", "column": "a", "alias": "x"}, "'median' is not allowed"),
])
def test_aggregation_rejections(fields: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        gold(aggregations=[fields])


def test_window_and_streaming_settings() -> None:
    spec = gold(group_by=["region"], incremental=True, watermark="1 hour",
                window=TimeWindow(column="order_date", duration="1 hour", start="hour_start",
                                  end="hour_end"),
                cluster_by=["hour_start", "region"])
    assert spec.output_columns() == ("hour_start", "hour_end", "region", "n")
    assert spec.key_columns() == ("hour_start", "region")
    assert spec.output_mode == "update"


@pytest.mark.parametrize(("fields", "message"), [
    ({"incremental": True}, "incremental=True .* needs window=TimeWindow"),
    ({"watermark": "1 hour"}, "watermark only applies to a streaming aggregate"),
    ({"output_mode": "append"}, "output_mode only applies to a streaming aggregate"),
    ({"window": {"column": "ts", "duration": "an hour"}},
     "window duration 'an hour' is not a duration"),
    ({"incremental": True, "window": {"column": "ts", "duration": "1 hour"},
      "watermark": "soon"}, "watermark 'soon' is not a duration"),
    ({"window": {"column": "ts", "duration": "1 hour", "start": "n"}},
     "output column 'n' is defined twice"),
])
def test_streaming_rejections(fields: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        gold(**fields)


def test_cluster_by_must_name_a_column_of_the_table() -> None:
    with pytest.raises(SpecError) as info:
        gold(group_by=["region"], cluster_by=["date"])
    assert str(info.value) == (
        "gold table 'g': cluster_by column 'date' is not a column of table 'g'; its columns "
        "are region, n"
    )


def test_cluster_by_and_partition_cols_are_exclusive() -> None:
    with pytest.raises(SpecError, match=r"cluster_by \['region'\] and partition_cols "
                                        r"\['region'\] cannot be combined"):
        gold(group_by=["region"], cluster_by=["region"], partition_cols=["region"])
    assert gold(group_by=["region"], partition_cols="region").partition_cols == ("region",)


def test_silver_select_bounds_cluster_by() -> None:
    with pytest.raises(SpecError, match="cluster_by column 'date' is not a column"):
        build_spec(medallion.SilverSpec, {"name": "s", "source": "b", "select": ["id"],
                                          "cluster_by": ["date"]})


def test_fake_clustering_properties_on_every_kind() -> None:
    with medallion.Pipeline(), pytest.raises(SpecError, match=r"cluster_by=\['col', \.\.\.\]"):
        medallion.create_streaming_table("t", table_properties={"delta.clusterBy": "a"})
    with pytest.raises(SpecError, match="is not a Delta setting"):
        gold(table_properties={"delta.enableLiquidClustering": "true"})
