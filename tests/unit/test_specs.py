from __future__ import annotations

import pytest

import medallion
from medallion import BronzeSpec, GoldSpec, Rule, SilverSpec, SpecError, agg
from medallion.specs.errors import build_spec


def silver(**fields: object) -> SilverSpec:
    return build_spec(SilverSpec, {"name": "silver_orders", "source": "bronze_orders", **fields})


def test_specs_are_frozen() -> None:
    rule = Rule(name="r", condition="a > 0")
    with pytest.raises(Exception, match="frozen"):
        rule.name = "other"  # type: ignore[misc]


def test_rule_defaults_to_warn() -> None:
    assert Rule(name="r", condition="a > 0").action == "warn"


def test_unknown_field_is_named_with_suggestion() -> None:
    with pytest.raises(SpecError) as info:
        silver(dedup_key=["order_id"])
    message = str(info.value)
    assert message.startswith("silver table 'silver_orders': unknown field 'dedup_key'.")
    assert "Did you mean 'dedup_keys'?" in message
    assert info.value.table == "silver_orders"
    assert info.value.field == "dedup_key"


def test_unknown_rule_field_lists_rule_fields() -> None:
    with pytest.raises(SpecError) as info:
        silver(rules=[{"name": "r", "condition": "a > 0", "actoin": "drop"}])
    assert "unknown field 'rules.0.actoin'. Did you mean 'action'?" in str(info.value)
    assert "Allowed fields: action, condition, name" in str(info.value)


def test_unknown_action_names_rule_and_allowed_values() -> None:
    with pytest.raises(SpecError) as info:
        silver(rules=[{"name": "valid_id", "condition": "id > 0", "action": "explode"}])
    assert str(info.value) == (
        "silver table 'silver_orders': field 'rules.0.action': 'explode' is not allowed; "
        "input should be 'warn', 'drop' or 'fail' (rule 'valid_id')"
    )


def test_non_boolean_condition_names_the_rule() -> None:
    with pytest.raises(SpecError) as info:
        silver(rules=[{"name": "valid_amount", "condition": "amount + 1", "action": "drop"}])
    assert "field 'rules.0.condition': condition 'amount + 1' is not a boolean expression" in (
        str(info.value)
    )
    assert str(info.value).endswith("(rule 'valid_amount')")


def test_duplicate_rule_names_rejected() -> None:
    with pytest.raises(SpecError, match="rule name 'r' is used twice"):
        silver(rules=[Rule(name="r", condition="a > 0"), Rule(name="r", condition="b > 0")])


def test_fake_clustering_properties_point_to_cluster_by() -> None:
    for key in ("delta.enableLiquidClustering", "delta.clusterBy"):
        with pytest.raises(SpecError, match="declare liquid clustering with cluster_by"):
            silver(table_properties={key: "true"})


def test_cluster_by_limits() -> None:
    with pytest.raises(SpecError, match="at most 4"):
        silver(cluster_by=["a", "b", "c", "d", "e"])
    assert silver(cluster_by="a, b").cluster_by == ("a", "b")


def test_change_data_feed_sets_the_delta_property() -> None:
    spec = silver(change_data_feed=True, table_properties={"quality": "silver"})
    assert spec.effective_properties == {
        "quality": "silver",
        "delta.enableChangeDataFeed": "true",
    }
    assert spec.cdf_enabled


def test_quarantine_needs_a_drop_rule() -> None:
    with pytest.raises(SpecError, match="would always be empty"):
        silver(quarantine="q", rules=[Rule(name="r", condition="a > 0", action="warn")])


def test_quarantine_true_names_the_table() -> None:
    spec = silver(quarantine=True, rules=[Rule(name="r", condition="a > 0", action="drop")])
    assert spec.quarantine == "silver_orders_quarantine"
    assert spec.outputs() == ("silver_orders", "silver_orders_quarantine")


def test_bad_cast_type() -> None:
    with pytest.raises(SpecError, match="cast of column 'amount'"):
        silver(casts={"amount": "decimal(10,2) junk"})


def test_dedup_order_by_needs_keys() -> None:
    with pytest.raises(SpecError, match="dedup_order_by needs dedup_keys"):
        silver(dedup_order_by="ts")


def test_inputs_of_silver_include_joins() -> None:
    spec = silver(joins=[{"table": "silver_customers", "on": "customer_id"}])
    assert spec.inputs() == ("bronze_orders", "silver_customers")
    assert spec.joins[0].on == ("customer_id",)
    assert spec.joins[0].how == "left"


def test_bronze_options_and_schema_alias() -> None:
    spec = build_spec(BronzeSpec, {"name": "b", "path": "/x", "schema": "id BIGINT",
                                   "options": {"multiLine": True}})
    assert spec.schema_ == "id BIGINT"
    assert spec.options == {"multiLine": "true"}
    with pytest.raises(SpecError, match="not cloudFiles"):
        build_spec(BronzeSpec, {"name": "b", "path": "/x",
                                "options": {"cloudFiles.format": "json"}})


def test_gold_keys_and_aggregations() -> None:
    spec = build_spec(GoldSpec, {
        "name": "g", "source": "s",
        "group_by": ["to_date(order_date) AS date", "region"],
        "aggregations": [agg.count(alias="n"), agg.count_distinct("customer_id", alias="u"),
                         agg.sum("amount", alias="total")],
    })
    assert [(k.alias, k.expression) for k in spec.group_by] == [
        ("date", "to_date(order_date)"), ("region", "region"),
    ]
    assert [a.sql() for a in spec.aggregations] == [
        "count(*)", "count(DISTINCT customer_id)", "sum(amount)",
    ]


def test_gold_unnamed_expression_key_rejected() -> None:
    with pytest.raises(SpecError, match=r"name it, e.g. 'to_date\(order_date\) AS my_key'"):
        build_spec(GoldSpec, {"name": "g", "source": "s", "group_by": ["to_date(order_date)"],
                              "aggregations": [agg.count(alias="n")]})


def test_gold_duplicate_output_names() -> None:
    with pytest.raises(SpecError, match="output column 'n' is defined twice"):
        build_spec(GoldSpec, {"name": "g", "source": "s", "group_by": ["n"],
                              "aggregations": [agg.count(alias="n")]})


def test_invalid_table_name() -> None:
    with pytest.raises(SpecError, match="table name 'bad-name' is not valid"):
        silver(name="bad-name")


def test_rules_from_and_shortcuts() -> None:
    rules = medallion.rules_from({"a": "x > 0", "b": "y IS NOT NULL"}, "fail")
    assert [(r.name, r.action) for r in rules] == [("a", "fail"), ("b", "fail")]
    assert medallion.expect_or_drop("r", "x > 0").action == "drop"
    assert medallion.expect("r", "x > 0").action == "warn"
    assert medallion.expect_or_fail("r", "x > 0").action == "fail"


def test_malformed_records_shorthands_and_checks() -> None:
    assert silver(quarantine=True, malformed_records=True).malformed_records == (
        "_corrupt_record",)
    assert silver(quarantine=True, malformed_records="_bad").malformed_records == ("_bad",)
    assert silver(malformed_records=False).malformed_records == ()
    both = silver(quarantine=True, malformed_records=["_corrupt_record", "_rescued_data"])
    assert both.outputs() == ("silver_orders", "silver_orders_quarantine")  # no drop rule needed
    with pytest.raises(SpecError) as info:
        silver(malformed_records=True)
    assert str(info.value) == (
        "silver table 'silver_orders': malformed_records sends malformed rows to the quarantine "
        "table, and this table has none: set quarantine (e.g. quarantine: true)")
    with pytest.raises(SpecError) as info:
        silver(quarantine=True, malformed_records=["bad col"])
    assert str(info.value) == (
        "silver table 'silver_orders': field 'malformed_records': malformed_records column "
        "'bad col' is not a plain column name; e.g. [_corrupt_record, _rescued_data]")
