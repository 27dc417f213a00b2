"""Rules as Spark columns: the failed rules as bit masks, the metrics, and the fail guard.

Everything is computed in the projection that feeds the write, so evaluating twenty rules costs
one pass over the data, not twenty jobs. Functions here only build plans; they never trigger
analysis of their input (no ``.columns``), so the same code serves every backend.

The input row travels packed in one struct column next to the helper columns, and is unpacked
with ``struct.*`` at the end: removing helpers with ``DataFrame.drop`` would make Spark Connect's
planner analyse the plan while a declarative pipeline registers it, before upstream tables exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from medallion.specs.rules import Rule

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

MASK_PREFIX = "__medallion_failed_"
#: Rules per mask column (bits 0..61 of a BIGINT: never the sign bit).
RULES_PER_MASK = 62
GUARD_COLUMN = "__medallion_fail_guard"
ROW_COLUMN = "__medallion_row"
FAILED_RULES_COLUMN = "_failed_rules"
QUARANTINED_AT_COLUMN = "_quarantined_at"
SOURCE_ROW_COLUMN = "_source_row"
VIOLATION_MARKER = "[MEDALLION_EXPECTATION_VIOLATION]"
#: to_json options that keep NULL fields, so a row shown in an error or quarantine is complete.
JSON_WITH_NULLS = {"ignoreNullFields": "false"}

_VIOLATION = re.compile(
    re.escape(VIOLATION_MARKER) + r" table=(?P<table>\S+) rules=(?P<rules>[^\n]*?) row=(?P<row>.*)",
    re.DOTALL,
)


def quarantine_comment(table: str) -> str:
    """The comment of a quarantine table, the same on every backend."""
    return f"Rows of {table} that failed a drop rule, with the rules they failed"


def mask_column(chunk: int) -> str:
    """Name of the BIGINT column whose bit ``j`` is set when a row fails rule ``chunk*62 + j``."""
    return f"{MASK_PREFIX}{chunk}"


def _long(value: int) -> Column:
    from pyspark.sql import functions as F

    return F.lit(value).cast("bigint")


@dataclass(frozen=True)
class RuleSet:
    """The rules of one table, with helpers building their Spark columns."""

    table: str
    rules: tuple[Rule, ...]

    @property
    def drop_indexes(self) -> tuple[int, ...]:
        """Positions of the ``drop`` rules."""
        return tuple(i for i, r in enumerate(self.rules) if r.action == "drop")

    @property
    def fail_indexes(self) -> tuple[int, ...]:
        """Positions of the ``fail`` rules."""
        return tuple(i for i, r in enumerate(self.rules) if r.action == "fail")

    def annotate(self, df: DataFrame) -> DataFrame:
        """Pack the row into one struct, add the failed-rules mask(s) and the guard.

        A rule fails a row when its condition is FALSE or NULL; the row's failures are bits of
        one BIGINT per 62 rules, so twenty rules add one small column, not twenty (cheaper to
        cache, and a grouped count over the masks yields every rule's count). Works with no
        rules too (then only the packed row), so callers need no special case.
        """
        from pyspark.sql import functions as F

        columns: list[Column] = [F.struct(F.col("*")).alias(ROW_COLUMN)]
        for chunk in range(self._chunks()):
            bits = [
                F.when(F.coalesce(F.expr(self.rules[i].condition), F.lit(False)), _long(0))
                .otherwise(_long(1 << (i - chunk * RULES_PER_MASK)))
                for i in range(chunk * RULES_PER_MASK,
                               min(len(self.rules), (chunk + 1) * RULES_PER_MASK))
            ]
            mask = bits[0]
            for bit in bits[1:]:
                mask = mask.bitwiseOR(bit)
            columns.append(mask.alias(mask_column(chunk)))
        if self.fail_indexes:
            columns.append(self._guard().alias(GUARD_COLUMN))
        return df.select(*columns)

    def _chunks(self) -> int:
        return -(-len(self.rules) // RULES_PER_MASK)

    def _bits(self, indexes: Sequence[int]) -> dict[int, int]:
        """Mask chunk → the bits of ``indexes`` in it."""
        out: dict[int, int] = {}
        for i in indexes:
            chunk, bit = divmod(i, RULES_PER_MASK)
            out[chunk] = out.get(chunk, 0) | (1 << bit)
        return out

    def failed(self, index: int) -> Column:
        """TRUE when the row failed rule ``index`` (on :meth:`annotate`'s output)."""
        from pyspark.sql import functions as F

        chunk, bit = divmod(index, RULES_PER_MASK)
        return F.col(mask_column(chunk)).bitwiseAND(_long(1 << bit)) != _long(0)

    def _guard(self) -> Column:
        """NULL for good rows; raises (failing the job before any commit) for a fail violation.

        The violated rule names and the offending row travel in the error message. It is
        computed in the same projection as the flags, so ``struct('*')`` is the input row.
        """
        from pyspark.sql import functions as F

        failing = [
            F.when(~F.coalesce(F.expr(self.rules[i].condition), F.lit(False)),
                   F.lit(self.rules[i].name))
            for i in self.fail_indexes
        ]
        names = F.concat_ws(",", *failing)
        message = F.concat(
            F.lit(f"{VIOLATION_MARKER} table={self.table} rules="),
            names,
            F.lit(" row="),
            F.to_json(F.struct(F.col("*")), JSON_WITH_NULLS),
        )
        return F.when(names != F.lit(""), F.raise_error(message))

    def enforce(self, annotated: DataFrame) -> DataFrame:
        """Make the fail guard run on every row, for runtimes where nothing else reads it.

        The local runner forces the guard through its metrics; a declarative pipeline writes the
        rows directly, so the guard becomes a filter that passes every row or raises. Spark would
        merge it with the drop rules' filter, and its generated code tests ``IS NOT NULL``
        conditions first, so a row failing ``id IS NOT NULL`` would skip the guard. A
        nondeterministic term that is always TRUE (and that no optimizer rule folds, unlike
        ``rand() >= 0``) keeps this filter separate, below the drop rules' filter.
        """
        from pyspark.sql import functions as F

        if not self.fail_indexes:
            return annotated
        barrier = F.length(F.expr("uuid()")) > F.lit(0)
        return annotated.where(F.col(GUARD_COLUMN).isNull() & barrier)

    def accepts(self) -> Column:
        """TRUE for rows that no ``drop`` or ``fail`` rule rejects (NULL counts as a violation).

        Computed from the conditions themselves, so it can be used before :meth:`annotate`.
        """
        from pyspark.sql import functions as F

        cond: Column = F.lit(True)
        for i in (*self.drop_indexes, *self.fail_indexes):
            cond = cond & F.coalesce(F.expr(self.rules[i].condition), F.lit(False))
        return cond

    def passes_drop_rules(self) -> Column:
        """TRUE for rows that every drop rule accepts."""
        from pyspark.sql import functions as F

        cond: Column = F.lit(True)
        for chunk, bits in self._bits(self.drop_indexes).items():
            cond = cond & (F.col(mask_column(chunk)).bitwiseAND(_long(bits)) == _long(0))
        return cond

    def failed_rule_names(self) -> Column:
        """array<string> of the names of every rule the row failed, in declaration order."""
        from pyspark.sql import functions as F

        items = [F.when(self.failed(i), F.lit(r.name)) for i, r in enumerate(self.rules)]
        return F.filter(F.array(*items), lambda x: x.isNotNull())

    def metric_columns(self) -> list[Column]:
        """Aggregates for ``DataFrame.observe``: rows, failed per rule, dropped.

        Referencing the guard column here is what forces it to be evaluated for every row.
        """
        from pyspark.sql import functions as F

        cols = [F.count(F.lit(1)).alias("rows")]
        for i, _ in enumerate(self.rules):
            cols.append(F.sum(F.when(self.failed(i), 1).otherwise(0)).alias(f"failed_{i}"))
        cols.append(
            F.sum(F.when(self.passes_drop_rules(), 0).otherwise(1)).alias("dropped")
        )
        if self.fail_indexes:
            cols.append(F.count(F.col(GUARD_COLUMN)).alias("fail_guard"))
        return cols

    def mask_columns(self) -> list[str]:
        """The failed-rules mask columns :meth:`annotate` adds."""
        return [mask_column(c) for c in range(self._chunks())]

    def metrics_from_groups(self, groups: Sequence[tuple[tuple[int, ...], int]]) -> dict[str, int]:
        """The metrics :meth:`metric_columns` computes, from row counts per mask combination.

        Example:
            >>> rs = RuleSet("t", (Rule(name="a", condition="x > 0", action="drop"),
            ...                    Rule(name="b", condition="y > 0", action="warn")))
            >>> rs.metrics_from_groups([((0,), 5), ((0b01,), 2), ((0b10,), 1)])
            {'rows': 8, 'failed_0': 2, 'failed_1': 1, 'dropped': 2}
        """
        metrics = {"rows": sum(n for _, n in groups)}
        for i in range(len(self.rules)):
            chunk, bit = divmod(i, RULES_PER_MASK)
            metrics[f"failed_{i}"] = sum(n for masks, n in groups if masks[chunk] >> bit & 1)
        drop_bits = self._bits(self.drop_indexes)
        metrics["dropped"] = sum(n for masks, n in groups
                                 if any(masks[c] & bits for c, bits in drop_bits.items()))
        return metrics

    def kept(self, annotated: DataFrame, extra_helpers: Sequence[str] = ()) -> DataFrame:
        """Rows passing every drop rule, unpacked, without helpers (nor ``extra_helpers``)."""
        from pyspark.sql import functions as F

        out = annotated.where(self.passes_drop_rules()) if self.drop_indexes else annotated
        row = F.col(ROW_COLUMN)
        if extra_helpers:
            row = row.dropFields(*extra_helpers)
        return out.select(row.alias(ROW_COLUMN)).select(F.col(f"{ROW_COLUMN}.*"))

    def quarantined(self, annotated: DataFrame, *, source_row: bool = False) -> DataFrame:
        """Rows failing at least one drop rule, with the names of all rules they failed and when.

        With ``source_row``, the ``_source_row`` struct carried from before the casts is written
        as JSON (a stable text form of the row as it arrived).
        """
        from pyspark.sql import functions as F

        row = F.col(ROW_COLUMN)
        if source_row:
            row = row.withField(
                SOURCE_ROW_COLUMN,
                F.to_json(F.col(f"{ROW_COLUMN}.{SOURCE_ROW_COLUMN}"), JSON_WITH_NULLS),
            )
        failed = annotated.where(~self.passes_drop_rules()).select(
            row.alias(ROW_COLUMN),
            self.failed_rule_names().alias(FAILED_RULES_COLUMN),
            F.current_timestamp().alias(QUARANTINED_AT_COLUMN),
        )
        return failed.select(
            F.col(f"{ROW_COLUMN}.*"), F.col(FAILED_RULES_COLUMN), F.col(QUARANTINED_AT_COLUMN)
        )

    def internal_columns(self) -> list[str]:
        """The helper columns :meth:`annotate` adds next to the packed row."""
        cols = self.mask_columns()
        if self.fail_indexes:
            cols.append(GUARD_COLUMN)
        return cols


@dataclass(frozen=True)
class Violation:
    """A fail-rule violation recovered from a Spark error message."""

    table: str
    rules: tuple[str, ...]
    row: str | None


def find_violation(text: str) -> Violation | None:
    """Extract the violation medallion's fail guard raised, if ``text`` holds one."""
    match = _VIOLATION.search(text)
    if match is None:
        return None
    row = match.group("row").strip()
    # Spark appends its own context after the message (SQLSTATE, stack); keep the JSON only.
    end = _json_end(row)
    rules = tuple(r for r in match.group("rules").split(",") if r)
    return Violation(match.group("table"), rules, row[:end] if end else None)


def _json_end(text: str) -> int:
    depth = 0
    in_string = False
    escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return 0


def expectation_counts(
    rules: Sequence[Rule], metrics: dict[str, int]
) -> list[tuple[str, int, int]]:
    """(name, passed, failed) per rule from the observed metrics."""
    rows = int(metrics.get("rows", 0) or 0)
    out = []
    for i, rule in enumerate(rules):
        failed = int(metrics.get(f"failed_{i}", 0) or 0)
        out.append((rule.name, rows - failed, failed))
    return out
