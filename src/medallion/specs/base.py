"""What every table spec shares: a name, documentation, Delta table settings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from medallion.specs.errors import VALIDATING, spec_error
from medallion.specs.sqlexpr import SqlSyntaxError, check_expression

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUALIFIED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")

#: Table properties that look like Delta settings but are not: the reference brief's liquid
#: clustering "properties". Real clustering is ``cluster_by``.
FAKE_CLUSTERING_PROPERTIES = ("delta.enableLiquidClustering", "delta.clusterBy")
MAX_CLUSTERING_COLUMNS = 4


class Model(BaseModel):
    """Base of every spec: immutable, and unknown fields are an error rather than ignored.

    Constructing one with bad fields raises :class:`medallion.SpecError` naming the field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def __init__(self, /, **data: Any) -> None:
        # pydantic calls __init__ for nested models too; only the outermost call translates the
        # error, so a message names the full field path once.
        if VALIDATING.get():
            super().__init__(**data)
            return
        token = VALIDATING.set(True)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            name = data.get("name")
            raise spec_error(exc, type(self), table=name if isinstance(name, str) else None,
                             fields=data) from None
        finally:
            VALIDATING.reset(token)


def check_table_name(value: str, what: str = "table name") -> str:
    """Return ``value`` if it is a valid unqualified table name, else raise ValueError."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(
            f"{what} {value!r} is not valid: use letters, digits and underscores, "
            "starting with a letter or underscore (e.g. 'silver_orders')"
        )
    return value


def check_reference(value: str, what: str = "source") -> str:
    """A table this table reads: a pipeline table (``bronze_orders``) or ``schema.table``."""
    if not isinstance(value, str) or not _QUALIFIED.match(value):
        raise ValueError(
            f"{what} {value!r} is not a table name: give a table of this pipeline "
            "(e.g. 'bronze_orders') or a qualified external table ('schema.table')"
        )
    return value


def check_inputs(value: tuple[str, ...]) -> tuple[str, ...]:
    """Check each table a query function reads, as :func:`check_reference` does."""
    for name in value:
        check_reference(name, "input")
    return value


#: The ``inputs`` of a spec whose query is a function: the tables it reads, by name.
Inputs = Annotated[tuple[str, ...], AfterValidator(check_inputs)]


def check_sql(value: str, what: str) -> str:
    """Parse ``value`` as one SQL expression; raise ValueError naming ``what`` if it is not."""
    try:
        check_expression(value)
    except SqlSyntaxError as exc:
        raise ValueError(f"{what} {value!r} is not a valid SQL expression: {exc}") from None
    return value


class Definition(Model):
    """Anything a pipeline declares: a table (:class:`TableSpec`) or a flow writing into one.

    Tables and flows have separate namespaces, as on Databricks: a flow may carry the name of
    the table it writes. :attr:`key` is unique across both.
    """

    layer: ClassVar[str] = "table"
    #: A flow writes rows into a table declared by another definition (its :meth:`writes`).
    is_flow: ClassVar[bool] = False
    #: A flow applying change events (AUTO CDC): it updates and deletes its target's rows.
    applies_changes: ClassVar[bool] = False
    #: Its rows come from the flows writing it (``create_streaming_table``), not from itself.
    written_by_flows: ClassVar[bool] = False
    #: Whether pipeline tables may read it (a sink is read outside the pipeline only).
    readable: ClassVar[bool] = True

    name: str

    @property
    def key(self) -> str:
        """Unique identifier of the definition in its pipeline (a table's key is its name)."""
        return self.name

    def label(self) -> str:
        """How messages name it: ``silver table 'silver_orders'``."""
        return f"{self.layer} table '{self.name}'"

    def inputs(self) -> tuple[str, ...]:
        """Names of the tables this definition reads (pipeline tables or qualified external)."""
        return ()

    def outputs(self) -> tuple[str, ...]:
        """Names of the tables this definition owns (creates and defines)."""
        return ()

    def writes(self) -> str:
        """The table this definition writes its rows into: its own (a flow: its target)."""
        return self.name

    def written_tables(self) -> tuple[str, ...]:
        """Every table a run of this definition changes: its outputs (a flow: its target)."""
        return self.outputs()

    def streams(self, source_streams: Callable[[str], bool]) -> bool | None:
        """Whether it is a streaming table, asking ``source_streams`` about a source it follows.

        None when the DataFrame its query returns decides, when it runs (``@dlt.table``). A
        flow is not a table: False (its target's kind is the target's).
        """
        return False

    def flow_streams(self, source_streams: Callable[[str], bool]) -> bool | None:
        """Whether the flow computing its rows is a streaming flow (the event log's flow type).

        None when its query's DataFrame decides. For a table it is :meth:`streams`.
        """
        return self.streams(source_streams)

    def appends_only(self, writers: Iterable[Definition] = ()) -> bool:
        """Whether rows once written stay as they are, given the flows ``writers`` writing it.

        Only then can a streaming table be read as a stream of appended rows.
        """
        return True

    def updated_in_place(self) -> str | None:
        """What updates its rows in place, said in an error's words, or None (it is rewritten)."""
        return None

    def destination(self) -> Mapping[str, str] | None:
        """Where its rows go when that is outside the pipeline's schema (a sink), else None.

        Such a table keeps its rows across a full refresh.
        """
        return None

    def refuses_writer(self, flow: Definition) -> str | None:
        """Why ``flow`` may not write this table (the sentence's end), or None when it may."""
        return None


class TableSpec(Definition):
    """Fields common to every dataset medallion declares.

    Attributes:
        name: The table name inside the pipeline's schema (``medallion_db`` by default).
        comment: Table comment, shown in the catalog.
        table_properties: Delta table properties (``delta.*`` keys must be real Delta settings).
        cluster_by: Liquid clustering columns (at most 4), a real ``CLUSTER BY``.
        partition_cols: Partition columns (Hive-style folders); not combinable with
            ``cluster_by``, prefer clustering.
        change_data_feed: Record row-level changes (sets ``delta.enableChangeDataFeed``).
        cluster_by_auto: Let Databricks choose the clustering keys from the workload
            (``cluster_by`` gives the initial ones). Locally the table is clustered by
            ``cluster_by`` only: the rows are the same, only their layout differs.
        private: Materialize the table without publishing it to the catalog (Databricks
            ``private=``, formerly ``temporary=``); pipeline tables still read it. The local
            warehouse has no publishing step: the table is written and registered as usual.
    """

    comment: str | None = None
    table_properties: dict[str, str] = Field(default_factory=dict)
    cluster_by: tuple[str, ...] = ()
    partition_cols: tuple[str, ...] = ()
    change_data_feed: bool = False
    cluster_by_auto: bool = False
    private: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_table_name(value)

    @field_validator("table_properties", mode="before")
    @classmethod
    def _properties(cls, value: Any) -> Any:
        if isinstance(value, dict):
            bad = [k for k in value if k in FAKE_CLUSTERING_PROPERTIES]
            if bad:
                raise ValueError(
                    f"table property {bad[0]!r} is not a Delta setting and clusters nothing; "
                    "declare liquid clustering with cluster_by=['col', ...] instead"
                )
            return {str(k): _property_text(v) for k, v in value.items()}
        return value

    @field_validator("cluster_by", mode="before")
    @classmethod
    def _cluster_by(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [c.strip() for c in value.split(",") if c.strip()]
        if isinstance(value, (list, tuple)):
            if len(value) > MAX_CLUSTERING_COLUMNS:
                raise ValueError(
                    f"cluster_by has {len(value)} columns {list(value)}; Delta liquid clustering "
                    f"allows at most {MAX_CLUSTERING_COLUMNS}"
                )
            if len(set(value)) != len(value):
                raise ValueError(f"cluster_by lists a column twice: {list(value)}")
        return value

    @field_validator("partition_cols", mode="before")
    @classmethod
    def _partition_cols(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _layout(self) -> TableSpec:
        if self.cluster_by and self.partition_cols:
            raise ValueError(
                f"cluster_by {list(self.cluster_by)} and partition_cols "
                f"{list(self.partition_cols)} cannot be combined: Delta liquid clustering "
                "replaces partitioning. Keep cluster_by (recommended) or partition_cols, not both"
            )
        known = self.known_columns()
        if known is not None:
            for what, columns in (("cluster_by", self.cluster_by),
                                  ("partition_cols", self.partition_cols)):
                missing = [c for c in columns if c not in known]
                if missing:
                    raise ValueError(
                        f"{what} column {missing[0]!r} is not a column of table "
                        f"{self.name!r}; its columns are {', '.join(known)}"
                    )
        return self

    @model_validator(mode="after")
    def _cdf_property(self) -> TableSpec:
        flag = self.table_properties.get("delta.enableChangeDataFeed")
        if flag is not None and flag.lower() not in ("true", "false"):
            raise ValueError(
                f"table property delta.enableChangeDataFeed must be 'true' or 'false', not {flag!r}"
            )
        return self

    @property
    def effective_properties(self) -> dict[str, str]:
        """Table properties including those implied by other fields (change data feed)."""
        props = dict(self.table_properties)
        if self.change_data_feed:
            props["delta.enableChangeDataFeed"] = "true"
        return props

    @property
    def cdf_enabled(self) -> bool:
        """Whether this table records a change data feed."""
        return self.effective_properties.get("delta.enableChangeDataFeed", "").lower() == "true"

    def known_columns(self) -> tuple[str, ...] | None:
        """The table's columns when the declaration alone determines them, else None.

        Used to reject a ``cluster_by`` / ``partition_cols`` column the table will not have at
        declaration time; other tables are checked when first written.
        """
        return None

    def outputs(self) -> tuple[str, ...]:
        """Names of the tables this definition writes: itself, plus e.g. its quarantine table."""
        return (self.name,)


def _property_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
