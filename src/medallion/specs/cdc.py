"""AUTO CDC flows: change events (or successive snapshots) applied to a streaming table.

The field names are Databricks' (``create_auto_cdc_flow`` / ``create_auto_cdc_from_snapshot_flow``)
so a backend can pass them through unchanged.

SCD type 1 keeps one row per key, the latest. SCD type 2 keeps every version of a key with
``__START_AT`` / ``__END_AT`` (the sequence values between which the version was current;
``__END_AT`` is NULL for the current version).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from medallion.specs.base import Inputs, check_reference, check_sql, check_table_name
from medallion.specs.flows import FlowSpec
from medallion.specs.sqlexpr import SqlSyntaxError, check_boolean

ScdType = Literal[1, 2]
START_AT = "__START_AT"
END_AT = "__END_AT"


def _scd_type(value: Any) -> Any:
    if isinstance(value, str) and value.strip() in ("1", "2"):
        return int(value.strip())
    return value


def _columns(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    return value


def _check_names(value: tuple[str, ...] | None, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    for name in value:
        check_table_name(name, f"{what} column")
    if len(set(value)) != len(value):
        raise ValueError(f"{what} lists a column twice: {list(value)}")
    return value


class _ChangeFlow(FlowSpec):
    """Fields shared by both AUTO CDC flows."""

    keys: tuple[str, ...] = Field(min_length=1)
    stored_as_scd_type: ScdType = 1
    track_history_column_list: tuple[str, ...] | None = None
    track_history_except_column_list: tuple[str, ...] | None = None

    @field_validator("stored_as_scd_type", mode="before")
    @classmethod
    def _scd(cls, value: Any) -> Any:
        return _scd_type(value)

    @field_validator("keys", "track_history_column_list", "track_history_except_column_list",
                     mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _columns(value)

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_names(value, "keys") or value

    @field_validator("track_history_column_list", "track_history_except_column_list")
    @classmethod
    def _tracked(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return _check_names(value, "track_history")

    @model_validator(mode="after")
    def _history(self) -> _ChangeFlow:
        both = (self.track_history_column_list is not None
                and self.track_history_except_column_list is not None)
        if both:
            raise ValueError("give track_history_column_list or "
                             "track_history_except_column_list, not both")
        if self.stored_as_scd_type == 1 and (
            self.track_history_column_list is not None
            or self.track_history_except_column_list is not None
        ):
            raise ValueError("track_history_column_list / track_history_except_column_list "
                             "only apply to stored_as_scd_type=2 (SCD type 1 keeps no history)")
        return self

    def tracked_columns(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """Which of the target's value ``columns`` open a new SCD2 version when they change."""
        values = tuple(c for c in columns if c not in self.keys)
        if self.track_history_column_list is not None:
            return tuple(c for c in values if c in self.track_history_column_list)
        if self.track_history_except_column_list is not None:
            return tuple(c for c in values if c not in self.track_history_except_column_list)
        return values


class AutoCdcSpec(_ChangeFlow):
    """Change events from a streaming source applied to a streaming table (SCD type 1 or 2).

    Each micro-batch is one MERGE into the target. Events are ordered by ``sequence_by``, not by
    arrival: an event older than what the target already reflects never overwrites it (with
    SCD2 it is placed into the history instead). Several events for one key in one batch are
    applied in sequence order; events with the same key and sequence are resolved
    deterministically (a delete wins over an upsert; between upserts, a hash of the row).

    Attributes:
        source: The streaming table holding the change events.
        keys: Columns identifying a row.
        sequence_by: SQL expression ordering the events of a key (a column, or e.g.
            ``struct(ts, seq)``); must not be NULL.
        ignore_null_updates: A NULL in an update keeps the target's current value.
        ignore_null_updates_column_list: Only these columns keep their current value when an
            update has NULL there (others take the NULL).
        ignore_null_updates_except_column_list: Every value column but these keeps its
            current value when an update has NULL there.
        apply_as_deletes: SQL condition marking delete events.
        apply_as_truncates: SQL condition marking events that empty the table (SCD1 only).
        column_list: The source columns kept in the target (default: all).
        except_column_list: Source columns left out of the target (e.g. the operation column).
        stored_as_scd_type: 1 (latest row per key) or 2 (history).
        track_history_column_list: SCD2: columns whose change opens a new version; changes to
            other columns update the current version in place.
        track_history_except_column_list: SCD2: columns whose change does NOT open a version.
    """

    flow_type: ClassVar[str] = "AUTO CDC flow"
    applies_changes: ClassVar[bool] = True

    kind: Literal["auto_cdc"] = "auto_cdc"
    source: str
    sequence_by: str
    ignore_null_updates: bool = False
    ignore_null_updates_column_list: tuple[str, ...] | None = None
    ignore_null_updates_except_column_list: tuple[str, ...] | None = None
    apply_as_deletes: str | None = None
    apply_as_truncates: str | None = None
    column_list: tuple[str, ...] | None = None
    except_column_list: tuple[str, ...] | None = None

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        return check_reference(value)

    @field_validator("sequence_by")
    @classmethod
    def _sequence(cls, value: str) -> str:
        return check_sql(value, "sequence_by")

    @field_validator("apply_as_deletes", "apply_as_truncates")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            check_boolean(value)
        except SqlSyntaxError as exc:
            raise ValueError(
                f"condition {value!r} is not a boolean SQL expression: {exc}") from None
        return value

    @field_validator("column_list", "except_column_list", "ignore_null_updates_column_list",
                     "ignore_null_updates_except_column_list", mode="before")
    @classmethod
    def _column_lists(cls, value: Any) -> Any:
        return _columns(value)

    @field_validator("column_list", "except_column_list", "ignore_null_updates_column_list",
                     "ignore_null_updates_except_column_list")
    @classmethod
    def _names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return _check_names(value, "column list")

    @model_validator(mode="after")
    def _coherent(self) -> AutoCdcSpec:
        if self.column_list is not None and self.except_column_list is not None:
            raise ValueError("give column_list or except_column_list, not both")
        if self.column_list is not None:
            missing = [k for k in self.keys if k not in self.column_list]
            if missing:
                raise ValueError(f"column_list must include the key column {missing[0]!r}")
        if self.except_column_list is not None:
            excluded = [k for k in self.keys if k in self.except_column_list]
            if excluded:
                raise ValueError(f"except_column_list must not exclude the key column "
                                 f"{excluded[0]!r}")
        nulls = [f for f in ("ignore_null_updates_column_list",
                             "ignore_null_updates_except_column_list")
                 if getattr(self, f) is not None]
        if len(nulls) == 2 or (nulls and self.ignore_null_updates):
            given = (["ignore_null_updates=True"] if self.ignore_null_updates else []) + nulls
            raise ValueError("give one of ignore_null_updates, ignore_null_updates_column_list "
                             "and ignore_null_updates_except_column_list, not "
                             + " and ".join(given))
        if self.apply_as_truncates is not None and self.stored_as_scd_type != 1:
            raise ValueError("apply_as_truncates only applies to stored_as_scd_type=1")
        if self.source == self.target:
            raise ValueError(f"AUTO CDC flow {self.name!r} reads its own target "
                             f"{self.target!r}")
        return self

    def null_ignoring(self, values: tuple[str, ...]) -> tuple[str, ...]:
        """Which of the target's value ``values`` keep their current value on a NULL update.

        Example:
            >>> spec = AutoCdcSpec(name="f", target="t", source="s", keys=["id"],
            ...                    sequence_by="seq", ignore_null_updates_except_column_list=["a"])
            >>> spec.null_ignoring(("a", "b", "c"))
            ('b', 'c')
        """
        if self.ignore_null_updates:
            return values
        if self.ignore_null_updates_column_list is not None:
            return tuple(v for v in values if v in self.ignore_null_updates_column_list)
        if self.ignore_null_updates_except_column_list is not None:
            return tuple(v for v in values
                         if v not in self.ignore_null_updates_except_column_list)
        return ()

    def inputs(self) -> tuple[str, ...]:  # noqa: D102
        return (self.source,)

    def flow_streams(self, source_streams: Callable[[str], bool]) -> bool | None:
        """Change events stream from the source (``once`` included)."""
        return True


#: ``source`` of a snapshot flow given as a function: called with the version of the last
#: snapshot processed (None at first), it returns ``(snapshot DataFrame, its version)`` for the
#: next one, or None when there is no newer snapshot.
SnapshotFunction = Callable[[Any], Any]


class AutoCdcSnapshotSpec(_ChangeFlow):
    """Successive full snapshots turned into changes (``create_auto_cdc_from_snapshot_flow``).

    Each snapshot is compared with the target: new keys are inserted, changed rows updated
    (SCD1) or versioned (SCD2), and keys missing from the snapshot deleted (SCD1) or closed
    (SCD2: their ``__END_AT`` is set).

    The snapshot comes either from a table (``source="name"``: each run whose source has
    changed takes one snapshot; SCD2 versions are sequenced by the run's start time, a
    TIMESTAMP) or from a function (``snapshot_function``, Databricks' ``source=<lambda>``),
    called repeatedly with the last processed version until it returns None; SCD2 versions are
    sequenced by the versions it returns.

    Attributes:
        source: Table to snapshot.
        snapshot_function: Function returning ``(DataFrame, version)`` or None.
        inputs: Tables the snapshot function reads (found from its code when omitted).
    """

    flow_type: ClassVar[str] = "AUTO CDC from snapshot flow"
    applies_changes: ClassVar[bool] = True

    kind: Literal["auto_cdc_snapshot"] = "auto_cdc_snapshot"
    source: str | None = None
    snapshot_function: SnapshotFunction | None = Field(default=None, exclude=True)
    inputs_: Inputs = Field(default=(), alias="inputs")

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return None if value is None else check_reference(value)

    @model_validator(mode="after")
    def _one_source(self) -> AutoCdcSnapshotSpec:
        if (self.source is None) == (self.snapshot_function is None):
            raise ValueError("give the snapshot source either as a table name (source='t') or "
                             "as a function returning (DataFrame, version) or None")
        if self.source is not None and self.inputs_:
            raise ValueError("inputs only apply to a snapshot function; a table source is "
                             "the input")
        if self.target in self.inputs():
            raise ValueError(f"snapshot flow {self.name!r} reads its own target "
                             f"{self.target!r}")
        return self

    def inputs(self) -> tuple[str, ...]:  # noqa: D102
        return (self.source,) if self.source is not None else self.inputs_

    def flow_streams(self, source_streams: Callable[[str], bool]) -> bool | None:
        """A snapshot is read as a batch."""
        return False
