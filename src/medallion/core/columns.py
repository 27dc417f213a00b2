"""Which columns each step of a table reads, checked against its input's columns before a write.

A runner knows its inputs' schemas at run time; these checks turn a column that is not there
into one sentence naming the rule, cast or key at fault (instead of Spark's unresolved-column
error with a dump of medallion's internal plan). Pure Python: the columns come in as names.

Steps follow the order every backend applies them (see :class:`medallion.SilverSpec` and
:class:`medallion.GoldSpec`), so a rule may use a renamed or derived column and a gold
``having`` may use an aggregate's alias.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence

from medallion.errors import ColumnReferenceError
from medallion.specs.cdc import AutoCdcSpec
from medallion.specs.gold import GoldSpec
from medallion.specs.rules import Rule
from medallion.specs.silver import SilverSpec
from medallion.specs.sqlexpr import SqlSyntaxError, column_references

#: ``confirm(expression, columns)``: True when Spark, too, cannot resolve a column of the
#: expression over rows with these columns (guards against a reference the parser misread).
Confirm = Callable[[str, Sequence[str]], bool]
#: Columns of another table (a join's right side), by name.
ColumnsOf = Callable[[str], Sequence[str]]


class Scope:
    """The columns available at one step of a table, and where they come from."""

    def __init__(self, owner: str, source: str, columns: Iterable[str],
                 confirm: Confirm | None = None) -> None:
        self.owner = owner
        self.source = source
        self.columns = list(columns)
        self.steps: list[str] = []
        self.confirm = confirm

    def has(self, name: str) -> bool:
        """Whether ``name`` is a column here (case-insensitively, as Spark resolves names)."""
        return name.lower() in {c.lower() for c in self.columns}

    def changed(self, step: str, columns: Iterable[str]) -> None:
        """A step (``renames``, ``derived``, ``select``...) changed the available columns."""
        self.columns = list(columns)
        if step not in self.steps:
            self.steps.append(step)

    def need(self, what: str, names: Iterable[str]) -> None:
        """Each of ``names`` must be a column here."""
        for name in names:
            if not self.has(name):
                self.fail(what, name)

    def need_sql(self, what: str, expression: str) -> None:
        """Every column ``expression`` reads must be here (or a qualifier of one)."""
        try:
            references = column_references(expression)
        except SqlSyntaxError:
            return  # validated at declaration; nothing more to say here
        for parts in references:
            if self.has(parts[0]) or (len(parts) > 1 and self.has(parts[1])):
                continue
            if self.confirm is not None and not self.confirm(expression, self.columns):
                return  # Spark resolves it: the parser misread a name, not the user
            self.fail(what, ".".join(parts))

    def fail(self, what: str, name: str) -> None:
        """Raise the error naming the step, the column and the columns there are."""
        if self.steps:
            steps = self.steps[0] if len(self.steps) == 1 else (
                f"{', '.join(self.steps[:-1])} and {self.steps[-1]}")
            where = f"after its {steps}, {self.owner} has"
        else:
            where = f"{self.source} has"
        text = (f"{what} of {self.owner} uses column {name}; {where}: "
                f"{', '.join(self.columns) or '(no columns)'}")
        close = difflib.get_close_matches(name, self.columns, n=1)
        if close:
            text += f". Did you mean {close[0]}?"
        raise ColumnReferenceError(text, table=self.owner, column=name, source=self.source)


def check_silver(spec: SilverSpec, columns: Sequence[str], columns_of: ColumnsOf,
                 confirm: Confirm | None = None) -> None:
    """Check every column a silver table reads, step by step, against its source's ``columns``.

    Example:
        >>> from medallion import Rule
        >>> spec = SilverSpec(name="silver_orders", source="bronze_orders",
        ...                   rules=[Rule(name="valid_amount", condition="amout > 0")])
        >>> check_silver(spec, ["order_id", "amount"], columns_of=lambda t: [])
        Traceback (most recent call last):
        ...
        medallion.errors.ColumnReferenceError: rule 'valid_amount' of silver_orders uses column amout; bronze_orders has: order_id, amount. Did you mean amount?
    """  # noqa: E501
    scope = Scope(spec.name, spec.source, columns, confirm)
    if spec.renames:
        for old in spec.renames:
            scope.need(f"rename of column '{old}'", [old])
        renames = {k.lower(): v for k, v in spec.renames.items()}
        scope.changed("renames", [renames.get(c.lower(), c) for c in scope.columns])
    for column in spec.casts:
        scope.need(f"cast of column '{column}'", [column])
    for column, expression in spec.derived.items():
        scope.need_sql(f"derived column '{column}'", expression)
        if not scope.has(column):
            scope.changed("derived columns", [*scope.columns, column])
    if spec.select is not None:
        scope.need("select", spec.select)
        scope.changed("select", spec.select)
    for rule in spec.rules:
        scope.need_sql(f"rule '{rule.name}'", rule.condition)
    scope.need("dedup_keys", spec.dedup_keys)
    if spec.dedup_order_by is not None:
        scope.need("dedup_order_by", [spec.dedup_order_by])
    for join in spec.joins:
        what = f"join with {join.table}"
        scope.need(f"{what} (on)", join.on)
        other = Scope(spec.name, join.table, columns_of(join.table))
        other.need(f"{what} (on)", join.on)
        taken = join.columns
        if taken is not None:
            other.need(f"{what} (columns)", taken)
        else:
            taken = tuple(c for c in other.columns if c not in join.on)
        if join.how not in ("left_semi", "left_anti"):
            scope.changed("joins", [*scope.columns, *taken])


def check_rules(table: str, source: str, columns: Sequence[str], rules: Iterable[Rule],
                confirm: Confirm | None = None) -> None:
    """Check the rule conditions of a table whose rows come from ``source`` (e.g. its query)."""
    scope = Scope(table, source, columns, confirm)
    for rule in rules:
        scope.need_sql(f"rule '{rule.name}'", rule.condition)


def check_gold(spec: GoldSpec, columns: Sequence[str], confirm: Confirm | None = None) -> None:
    """Check every column a gold table reads against its source's ``columns``."""
    scope = Scope(spec.name, spec.source, columns, confirm)
    if spec.filter:
        scope.need_sql("filter", spec.filter)
    if spec.window is not None:
        scope.need("window", [spec.window.column])
    for key in spec.group_by:
        scope.need_sql(f"group_by key '{key.alias}'", key.expression)
    for aggregation in spec.aggregations:
        for text in (aggregation.column, aggregation.order_by):
            if text is not None:
                scope.need_sql(f"aggregation '{aggregation.alias}'", text)
    window = (spec.window.start, spec.window.end) if spec.window is not None else ()
    scope.changed("aggregations", [*window, *(k.alias for k in spec.group_by),
                                   *(a.alias for a in spec.aggregations)])
    for column, expression in spec.derived.items():
        scope.need_sql(f"derived column '{column}'", expression)
        scope.changed("aggregations", [*scope.columns, column])
    if spec.having:
        scope.need_sql("having", spec.having)


def check_auto_cdc(spec: AutoCdcSpec, columns: Sequence[str],
                   confirm: Confirm | None = None) -> None:
    """Check the keys, sequencing, conditions and column lists of an AUTO CDC flow."""
    scope = Scope(f"AUTO CDC flow '{spec.name}' into {spec.target}", spec.source, columns,
                  confirm)
    scope.need("keys", spec.keys)
    scope.need_sql("sequence_by", spec.sequence_by)
    for field in ("apply_as_deletes", "apply_as_truncates"):
        condition = getattr(spec, field)
        if condition is not None:
            scope.need_sql(field, condition)
    for field in ("column_list", "except_column_list", "track_history_column_list",
                  "track_history_except_column_list"):
        scope.need(field, getattr(spec, field) or ())
