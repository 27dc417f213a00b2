from __future__ import annotations

import pytest

from medallion.specs.sqlexpr import SqlSyntaxError, boolean_verdict, check_boolean, split_alias

VALID = [
    "order_id IS NOT NULL",
    "amount > 0 AND amount < 100000",
    "status IN ('pending', 'completed', 'cancelled')",
    "NOT (a IS NULL)",
    "a NOT BETWEEN 1 AND 5",
    "name LIKE 'a%' ESCAPE '\\\\'",
    "name NOT RLIKE '^x'",
    "coalesce(a > 1, false)",
    "CAST(x AS INT) > 3",
    "x::int > 3",
    "try_cast(amount AS decimal(10,2)) > 0",
    "array_contains(tags, 'a')",
    "exists(arr, x -> x > 1)",
    "forall(arr, (x, i) -> x > i)",
    "CASE WHEN a > 1 THEN true ELSE false END",
    "a.b.c > 1",
    "m['k'] = 1",
    "date > DATE '2024-01-01'",
    "ts > current_timestamp() - INTERVAL 1 DAY",
    "a IS DISTINCT FROM b",
    "length(trim(name)) > 0",
    "trim(BOTH ' ' FROM name) <> ''",
    "`weird col` >= 0",
    "is_valid",  # a boolean column: checked against the schema at run time
    "a = 1 -- trailing comment",
    "/* leading */ a = 1",
    "amount <=> NULL",
    "x % 2 = 0 OR y DIV 3 = 1",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_conditions_are_accepted(text: str) -> None:
    assert boolean_verdict(check_boolean(text)) in (True, None)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("amount + 1", "not a boolean"),
        ("upper(x)", "not a boolean"),
        ("1", "not a boolean"),
        ("'abc'", "not a boolean"),
        ("SELECT 1", "statement"),
        ("a > 1; DROP TABLE x", "';' ends a statement"),
        ("(SELECT max(a) FROM t) > 1", "subquery"),
        ("EXISTS (SELECT 1)", "subquery"),
        ("x IN (SELECT id FROM t)", "subquery"),
        ("row_number() OVER (PARTITION BY a ORDER BY b) = 1", "window function"),
        ("a = ", "at the end"),
        ("amount > 0 and", "at the end"),
        ("a > 1 b", "unexpected text"),
        ("'unterminated", "unterminated string"),
        ("(a > 1", "expected ')'"),
    ],
)
def test_invalid_conditions_are_rejected_with_reason(text: str, fragment: str) -> None:
    with pytest.raises(SqlSyntaxError) as info:
        check_boolean(text)
    assert fragment in str(info.value)


def test_split_alias() -> None:
    assert split_alias("to_date(order_date) AS date") == ("to_date(order_date)", "date")
    assert split_alias("CAST(x AS INT)") == ("CAST(x AS INT)", None)
    assert split_alias("region") == ("region", None)
    assert split_alias("a + b as `my sum`") == ("a + b", "my sum")
    with pytest.raises(SqlSyntaxError):
        split_alias("a AS b c")


def test_cast_types_inside_expressions_are_checked() -> None:
    from medallion.specs.sqlexpr import SqlSyntaxError, check_expression

    assert check_expression("cast(a AS interval day to second)").text == "interval day to second"
    assert check_expression("a::string collate UTF8_LCASE").text == "string collate UTF8_LCASE"
    with pytest.raises(SqlSyntaxError) as info:
        check_expression("try_cast(amount AS decimall(10,2)) > 0")
    assert str(info.value) == (
        "'decimall(10,2)' is not a Spark SQL data type (unknown type 'decimall'; did you mean "
        "'decimal'?) at ')' (position 33)")
