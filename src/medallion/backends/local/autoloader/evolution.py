"""Schema evolution decisions, as pure functions over column names (no Spark).

Given the schema in effect and the columns the files of a micro-batch hold, :func:`plan_batch`
decides per Auto Loader's ``schemaEvolutionMode`` what happens to each column that is not in the
schema:

=================== ===================================================================
mode                a column the schema does not have
=================== ===================================================================
addNewColumns       added to the schema (and the table), older rows NULL
rescue              kept in the rescued data column; the schema never changes
failOnNewColumns    the run fails naming it, nothing of the batch is written
none                ignored, or rescued when a rescued data column is set
=================== ===================================================================

A column whose name differs from a schema column only by case is never added: its values are
rescued (or ignored without a rescued data column), as Auto Loader does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
#: A column as (name, type); the type is opaque here (a Spark DataType, or text in tests).
Column = tuple[str, Any]


@dataclass(frozen=True)
class BatchPlan(Generic[T]):
    """How to read one micro-batch.

    Attributes:
        columns: The schema to read with (after any addition), in table order.
        added: Columns added to the schema by this batch (``addNewColumns``).
        unknown: Columns in the files that the schema does not have (after additions).
        case_mismatch: Columns in the files named like a schema column but for the case.
        rescue_unknown: Whether ``unknown`` columns go to the rescued data column.
        rescue_case: Whether ``case_mismatch`` columns go to the rescued data column.
        rejected: New columns that make the run fail (``failOnNewColumns``).
    """

    columns: tuple[tuple[str, T], ...]
    added: tuple[tuple[str, T], ...] = ()
    unknown: tuple[str, ...] = ()
    case_mismatch: tuple[str, ...] = ()
    rescue_unknown: bool = False
    rescue_case: bool = False
    rejected: tuple[str, ...] = ()

    @property
    def needs_row_rescue(self) -> bool:
        """Whether rows must be re-parsed to rescue fields the schema does not have."""
        return bool((self.rescue_unknown and self.unknown)
                    or (self.rescue_case and self.case_mismatch))

    @property
    def ignored(self) -> tuple[str, ...]:
        """Columns of the files that are neither read nor rescued."""
        out = () if self.rescue_unknown else self.unknown
        return out + (() if self.rescue_case else self.case_mismatch)


def plan_batch(
    schema: Sequence[tuple[str, T]],
    found: Iterable[tuple[str, T]],
    mode: str,
    rescue: bool,
) -> BatchPlan[T]:
    """Decide what the columns ``found`` in a batch's files do to ``schema``.

    Example:
        >>> plan = plan_batch([("id", "string")], [("id", "string"), ("ID", "string"),
        ...                   ("note", "string")], "addNewColumns", rescue=True)
        >>> plan.added, plan.case_mismatch, plan.needs_row_rescue
        ((('note', 'string'),), ('ID',), True)

    Args:
        schema: The columns in effect.
        found: The columns the files hold (name, type), in the order found.
        mode: ``addNewColumns``, ``rescue``, ``failOnNewColumns`` or ``none``.
        rescue: Whether the table has a rescued data column.
    """
    columns = list(schema)
    exact = {name for name, _ in columns}
    folded = {name.lower() for name, _ in columns}
    added: list[tuple[str, T]] = []
    unknown: list[str] = []
    case: list[str] = []
    for name, type_ in found:
        if name in exact:
            continue
        if name.lower() in folded:
            if name not in case:
                case.append(name)
            continue
        if mode == "addNewColumns":
            added.append((name, type_))
            columns.append((name, type_))
            exact.add(name)
            folded.add(name.lower())
        elif name not in unknown:
            unknown.append(name)
    rejected = tuple(unknown) if mode == "failOnNewColumns" else ()
    return BatchPlan(
        columns=tuple(columns),
        added=tuple(added),
        unknown=tuple(unknown),
        case_mismatch=tuple(case),
        rescue_unknown=rescue and mode in ("rescue", "none"),
        rescue_case=rescue,
        rejected=rejected,
    )


def apply_hints(
    columns: Sequence[tuple[str, T]], hints: Sequence[tuple[str, T]]
) -> list[tuple[str, T]]:
    """Override the types of hinted columns and append hinted columns that are missing.

    Example:
        >>> apply_hints([("id", "string"), ("amount", "string")], [("AMOUNT", "double"),
        ...             ("ts", "timestamp")])
        [('id', 'string'), ('amount', 'double'), ('ts', 'timestamp')]
    """
    by_name = {name.lower(): type_ for name, type_ in hints}
    out = [(name, by_name.get(name.lower(), type_)) for name, type_ in columns]
    present = {name.lower() for name, _ in columns}
    out += [(name, type_) for name, type_ in hints if name.lower() not in present]
    return out


def changed_types(
    old: Sequence[tuple[str, T]], new: Sequence[tuple[str, T]]
) -> list[tuple[str, T, T]]:
    """Columns present in both whose type differs: (name, old type, new type).

    Example:
        >>> changed_types([("id", "string")], [("ID", "bigint"), ("x", "int")])
        [('id', 'string', 'bigint')]
    """
    before = {name.lower(): (name, type_) for name, type_ in old}
    out = []
    for name, type_ in new:
        prior = before.get(name.lower())
        if prior is not None and prior[1] != type_:
            out.append((prior[0], prior[1], type_))
    return out
