"""Column references of expressions, and the step-by-step column checks (no Spark)."""

from __future__ import annotations

import pytest

from medallion import ColumnReferenceError, GoldSpec, SilverSpec
from medallion.core.columns import check_gold, check_silver
from medallion.specs.sqlexpr import column_references


@pytest.mark.parametrize(("text", "columns"), [
    ("amount > 0 AND `order id` IS NOT NULL", [("amount",), ("order id",)]),
    ("exists(items, x -> x.qty > lim)", [("items",), ("lim",)]),
    ("transform(a, (x, i) -> x + i + b)", [("a",), ("b",)]),
    ("CASE WHEN status = 1 THEN a ELSE b END", [("status",), ("a",), ("b",)]),
    ("a IS DISTINCT FROM b", [("a",), ("b",)]),
    ("EXTRACT(YEAR FROM ts) > 2000", [("ts",)]),
    ("dateadd(MINUTE, 5, ts) < current_timestamp", [("ts",)]),
    ("s.f.g = 1 AND t.* IS NOT NULL", [("s", "f", "g"), ("t",)]),
    ("v:a.b = 1 AND m[0].x > y", [("v",), ("m",), ("y",)]),
    ("count(*) + count(DISTINCT q)", [("q",)]),
])
def test_column_references(text: str, columns: list[tuple[str, ...]]) -> None:
    assert column_references(text) == columns


def test_steps_change_the_columns_later_steps_see() -> None:
    spec = SilverSpec(name="s", source="b", renames={"id": "order_id"},
                      derived={"cents": "AMOUNT * 100"}, select=["order_id", "cents"],
                      rules=[{"name": "r", "condition": "cents > 0 AND order_id > 0"}])
    check_silver(spec, ["id", "amount"], columns_of=lambda t: [])  # names are case-insensitive
    bad = spec.model_copy(update={"rules": (spec.rules[0].model_copy(
        update={"condition": "amount > 0"}),)})
    with pytest.raises(ColumnReferenceError) as error:
        check_silver(bad, ["id", "amount"], columns_of=lambda t: [])
    assert str(error.value) == ("rule 'r' of s uses column amount; after its renames, derived "
                                "columns and select, s has: order_id, cents")
    assert (error.value.table, error.value.column, error.value.source) == ("s", "amount", "b")


def test_spark_has_the_last_word_on_a_flagged_expression() -> None:
    spec = GoldSpec(name="g", source="b", aggregations=[{"func": "sum", "column": "amont",
                                                         "alias": "t"}])
    seen: list[tuple[str, list[str]]] = []

    def resolves(expression: str, columns: list[str]) -> bool:
        seen.append((expression, list(columns)))
        return False  # Spark resolved it: the parser misread a name

    check_gold(spec, ["amount"], confirm=resolves)
    assert seen == [("amont", ["amount"])]
    with pytest.raises(ColumnReferenceError) as error:
        check_gold(spec, ["amount"], confirm=lambda e, c: True)
    assert str(error.value) == ("aggregation 't' of g uses column amont; b has: amount. "
                                "Did you mean amount?")
