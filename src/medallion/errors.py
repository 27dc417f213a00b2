"""The exceptions medallion raises.

Every error derives from :class:`MedallionError`. A message always names the table, field or rule at
fault, the bad value, and the fix or the allowed values, so that the CLI can print it as is.
"""

from __future__ import annotations

from collections.abc import Sequence


class MedallionError(Exception):
    """Base class of every error medallion raises on purpose."""

    #: Exit status the CLI uses for this error.
    exit_code: int = 2


class SpecError(MedallionError, ValueError):
    """A table or rule definition is invalid (raised at declaration, before any Spark job).

    Example: an unknown spec field, an unknown rule action, a rule condition that is not one SQL
    boolean expression, two rules with the same name on one table.
    """

    def __init__(self, message: str, *, table: str | None = None, field: str | None = None) -> None:
        self.table = table
        self.field = field
        super().__init__(message)


class GraphError(MedallionError):
    """The pipeline's dependency graph is invalid: a missing input, a duplicate name or a cycle.

    Raised by :meth:`medallion.Pipeline.validate` and by every runner before any Spark job runs.
    """

    def __init__(self, message: str, *, tables: Sequence[str] = ()) -> None:
        self.tables = tuple(tables)
        super().__init__(message)


class NoActivePipelineError(MedallionError):
    """A factory was called outside any pipeline context.

    Fix: declare tables inside ``with medallion.Pipeline("name"):`` or run the file with
    ``medallion run``, which provides the pipeline.
    """


class MissingDependencyError(MedallionError, ImportError):
    """An optional dependency (pyspark, delta-spark) is needed here but is not installed."""

    def __init__(self, package: str, purpose: str, extra: str = "local") -> None:
        self.package = package
        super().__init__(
            f"{package} is required to {purpose} but is not installed. "
            f'Install it with: pip install "medallion[{extra}]"'
        )


class PipelineRunError(MedallionError):
    """The pipeline ran, and at least one table failed (CLI exit status 1)."""

    exit_code = 1

    def __init__(self, message: str, *, failed: Sequence[str] = ()) -> None:
        self.failed = tuple(failed)
        super().__init__(message)


class ExpectationFailed(PipelineRunError):
    """A ``fail`` rule was violated: the table's update was rolled back and its data is unchanged.

    Carries the table, the violated rule names and one offending row (as JSON), like Databricks'
    ``EXPECTATION_VIOLATION`` error.
    """

    def __init__(self, table: str, rules: Sequence[str], row: str | None) -> None:
        self.table = table
        self.rules = tuple(rules)
        self.row = row
        names = ", ".join(f"'{r}'" for r in self.rules)
        text = (
            f"[EXPECTATION_VIOLATION] Table '{table}' failed to meet the expectation. "
            f"Violated expectations: {names}."
        )
        if row is not None:
            text += f" Input data: '{row}'."
        text += " The table was left unchanged; fix the input rows or change the rule's action."
        super().__init__(text, failed=(table,))


class TableRunError(PipelineRunError):
    """A table failed for a reason other than a ``fail`` rule (bad input path, Spark error...)."""

    def __init__(self, table: str, reason: str) -> None:
        self.table = table
        self.reason = reason
        super().__init__(f"Table '{table}' failed: {reason}", failed=(table,))


class ColumnReferenceError(PipelineRunError):
    """A table reads a column its input does not have (CLI exit status 2).

    Raised by the local runner before the table writes anything, once its input's schema is
    known: the message names the rule, cast, key or expression, the column, and the columns
    the input has. The table and the tables reading it are not run; fix the definition.
    """

    exit_code = 2

    def __init__(self, message: str, *, table: str, column: str, source: str) -> None:
        self.table = table
        self.column = column
        self.source = source
        super().__init__(message, failed=(table,))


class TableOwnershipError(MedallionError):
    """A pipeline would write tables that another pipeline owns (CLI exit status 2).

    Raised by the local runner before any write. Each table records the pipeline that writes
    it (the table property ``medallion.pipeline``), as Databricks records its pipeline on each
    table it publishes; one table is written by one pipeline. Fix: give the pipeline another
    ``schema``, or take the tables over deliberately with a full refresh of them.
    """

    def __init__(self, message: str, *, pipeline: str, owner: str,
                 tables: Sequence[str]) -> None:
        self.pipeline = pipeline
        self.owner = owner
        self.tables = tuple(tables)
        super().__init__(message)


class WarehouseError(MedallionError):
    """The warehouse folder cannot be created, is not a folder, or is not writable.

    Raised before Spark starts; the message names the path and why.
    """


class BackendError(MedallionError):
    """The selected backend cannot be used here (e.g. an unknown ``MEDALLION_BACKEND`` value)."""


class PipelineFileError(SpecError):
    """A YAML/JSON pipeline file is invalid: unreadable, an unknown field, a bad value.

    The message lists every problem found, each at ``file:line`` with the field's path in the
    document (``tables[2].rules[0].condition``) and, for misspelt names, a "did you mean".
    ``problems`` holds the same as :class:`FileProblem` entries for tools.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        problems: Sequence[FileProblem] = (),
        table: str | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.problems = tuple(problems)
        super().__init__(message, table=table, field=field)


class FileProblem:
    """One problem in a pipeline file: where it is and what is wrong."""

    def __init__(self, file: str, line: int | None, path: str, message: str) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.message = message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"FileProblem({str(self)!r})"
