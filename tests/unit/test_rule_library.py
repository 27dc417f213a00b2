from __future__ import annotations

from pathlib import Path

import pytest

import medallion
from medallion import Rule, RuleTemplate, SpecError, checks
from medallion.eventlog import rewrite_json_paths
from medallion.quality.library import rules_from_data

RULE_FILE = """
templates:
  valid_region:
    params: {column: column}
    condition: "{column} IN ('US', 'EU', 'ASIA')"
rule_sets:
  ids:
    - {template: not_null, name: valid_order_id, args: {column: order_id}, action: drop}
  orders:
    - use: ids
    - template: strictly_between
      name: valid_amount
      action: drop
      args: {column: amount, low: 0, high: 100000}
    - {name: valid_status, condition: "status IN ('pending', 'completed')", action: fail}
    - {template: valid_region, args: {column: region}}
"""


def test_rule_file_resolves_templates_includes_and_plain_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULE_FILE)
    library = medallion.load_rules(path)
    assert sorted(library) == ["ids", "orders"]
    assert library["orders"] == (
        Rule(name="valid_order_id", condition="order_id IS NOT NULL", action="drop"),
        Rule(name="valid_amount", condition="amount > 0 AND amount < 100000", action="drop"),
        Rule(name="valid_status", condition="status IN ('pending', 'completed')",
             action="fail"),
        Rule(name="region_valid_region", condition="region IN ('US', 'EU', 'ASIA')"),
    )


def test_rule_sets_are_usable_in_specs(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"rule_sets": {"basic": [{"template": "not_null", '
                    '"args": {"column": "id"}, "action": "drop"}]}}')
    library = medallion.load_rules(path)
    with medallion.Pipeline() as p:
        medallion.bronze_autoloader(name="b", path="/x")
        medallion.silver_with_rules(name="s1", source="b", rules=library["basic"])
        medallion.silver_with_rules(name="s2", source="b", rules=library["basic"])
    assert p["s1"].spec.rules == p["s2"].spec.rules == (
        Rule(name="id_not_null", condition="id IS NOT NULL", action="drop"),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rule_sets": {"x": [{"name": "a", "condition": "a +", "action": "drop"}]}},
         "rule library: field 'rule_sets.x.0.condition': condition 'a +' is not one SQL "
         "boolean expression: expected a value, column or function at the end"),
        ({"rule_sets": {"x": [{"template": "nope"}]}},
         "rule library: rule_sets.x.0: unknown template 'nope'"),
        ({"rule_sets": {"x": [{"template": "between", "args": {"column": "a", "low": 1}}]}},
         "rule library: rule_sets.x.0: template 'between' needs argument 'high'"),
        ({"rule_sets": {"x": [{"template": "not_null", "args": {"column": "a", "b": 1}}]}},
         "rule library: rule_sets.x.0: template 'not_null' has no parameter 'b'"),
        ({"rule_sets": {"x": [{"use": "y"}], "y": [{"use": "x"}]}},
         "rule library: rule sets include each other in a loop: x -> y -> x"),
        ({"rule_sets": {"x": [{"use": "z"}]}},
         "rule library: rule_sets.x.0: 'use: z' names no rule set"),
        ({"rule_sets": {"x": [{"template": "between", "arg": {}}]}},
         "unknown field 'rule_sets.x.0.arg'. Did you mean 'args'?"),
        ({"rule_sets": {"x": [{"name": "a", "condition": "a > 0"},
                              {"name": "a", "condition": "b > 0"}]}},
         "rule set 'x': rule name 'a' is used twice"),
        ({"templates": {"t": {"params": {"c": "column"}, "condition": "{d} > 0"}}},
         "condition uses {d}, which is not one of its params (c)"),
    ],
)
def test_rule_file_errors_name_the_place(data: object, message: str) -> None:
    with pytest.raises(SpecError) as info:
        rules_from_data(data)
    assert message in str(info.value)


def test_unknown_rule_set_suggests(tmp_path: Path) -> None:
    library = rules_from_data({"rule_sets": {"orders": []}})
    with pytest.raises(KeyError, match="did you mean 'orders'"):
        library["order"]


def test_template_values_are_quoted_safely() -> None:
    template = RuleTemplate(name="t", params={"column": "column", "values": "values"},
                            condition="{column} IN ({values})")
    rule = template.rule(column="my col", values=["it's", 3, None, True], name="r")
    assert rule.condition == "`my col` IN ('it\\'s', 3, NULL, TRUE)"


def test_checks() -> None:
    assert checks.not_null("id").condition == "id IS NOT NULL"
    assert checks.not_null("id").name == "id_not_null"
    assert checks.between("a", 1, 2.5).condition == "a BETWEEN 1 AND 2.5"
    assert checks.max_length("name", 10, action="drop") == Rule(
        name="name_max_length", condition="length(name) <= 10", action="drop")
    assert checks.matches("email", "^a").condition == "email RLIKE '^a'"
    assert checks.not_in_future("ts").condition == "ts <= current_timestamp()"
    assert checks.non_negative("x").condition == "x >= 0"


def test_rewrite_json_paths() -> None:
    assert rewrite_json_paths("SELECT details:flow_progress:data_quality:expectations FROM t") == (
        "SELECT get_json_object(details, '$.flow_progress.data_quality.expectations') FROM t"
    )
    assert rewrite_json_paths("SELECT d:a.b, x::int, 'a:b' FROM t WHERE origin.u = ':x'") == (
        "SELECT get_json_object(d, '$.a.b'), x::int, 'a:b' FROM t WHERE origin.u = ':x'"
    )
