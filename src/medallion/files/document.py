"""Read a YAML/JSON pipeline file into specs, and declare them into a pipeline.

Every problem in a file is reported together, each at ``file:line`` with the path of the field
in the document and, for misspelt names, a "did you mean".
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from medallion.errors import FileProblem, PipelineFileError
from medallion.files.configuration import ConfigurationError, resolve_configuration, substitute_all
from medallion.files.model import Environment, PipelineHeader, file_kinds, python_only_kinds
from medallion.files.source import SourceDocument, as_mapping, dotted, read_source
from medallion.graph import is_external
from medallion.pipeline import DEFAULT_SCHEMA, Pipeline, SourceLocation
from medallion.specs.base import Definition
from medallion.specs.errors import describe_error, validating

Lookup = Callable[[str], "str | None"]


@dataclass(frozen=True)
class FileTable:
    """One table of a pipeline file: its validated spec, where it is, and its data."""

    spec: Definition
    index: int
    line: int | None
    data: Mapping[str, Any]


@dataclass(frozen=True)
class PipelineDocument:
    """A pipeline file, read and validated, with configuration substituted.

    Attributes:
        path: The file.
        name: Pipeline name (the environment's, the file's, or the file name).
        schema: Schema for the tables, when the file (or environment) sets one.
        environment: The selected environment, if any.
        configuration: The resolved configuration (file < environment < caller).
        tables: The tables in file order.
        libraries: Python files to run into the same pipeline after the tables.
    """

    path: Path
    name: str
    schema: str | None
    environment: str | None
    configuration: dict[str, str]
    tables: tuple[FileTable, ...]
    libraries: tuple[Path, ...]
    source: SourceDocument

    def location(self, table: FileTable) -> SourceLocation:
        """Where ``table`` is declared (used in graph errors)."""
        return SourceLocation(str(self.path), table.line or 1)


class _Problems:
    def __init__(self, source: SourceDocument) -> None:
        self.source = source
        self.items: list[FileProblem] = []
        self.subjects: list[tuple[str | None, str | None]] = []

    def add(self, path: Iterable[str | int], message: str, *, table: str | None = None,
            field: str | None = None) -> None:
        path = tuple(path)
        self.items.append(FileProblem(str(self.source.path), self.source.positions.line(path),
                                      dotted(path), message))
        self.subjects.append((table, field))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        order = sorted(range(len(self.items)), key=lambda i: self.items[i].line or 0)
        self.items = [self.items[i] for i in order]
        self.subjects = [self.subjects[i] for i in order]
        if len(self.items) == 1:
            message = str(self.items[0])
        else:
            message = f"{self.source.path}: {len(self.items)} problems:\n" + "\n".join(
                f"  {p}" for p in self.items)
        first = self.items[0]
        table, field = self.subjects[0]
        raise PipelineFileError(message, file=first.file, line=first.line, problems=self.items,
                                table=table, field=field)


def read_pipeline_file(
    path: str | os.PathLike[str],
    *,
    environment: str | None = None,
    configuration: Mapping[str, Any] | None = None,
    fallback: Lookup | None = None,
) -> PipelineDocument:
    """Read and validate a pipeline file without declaring anything.

    Example:
        >>> doc = read_pipeline_file("examples/orders/pipeline.yaml",
        ...                          configuration={"raw": "/data"})  # doctest: +SKIP
        >>> doc.tables[0].spec.path                                   # doctest: +SKIP
        '/data/orders'

    Args:
        path: The ``.yaml``, ``.yml`` or ``.json`` file.
        environment: Name of an overlay under ``environments:`` to apply.
        configuration: Values that override the file's (``--conf``).
        fallback: Looked up for ``${key}`` references no layer defines.

    Raises:
        PipelineFileError: listing every problem at ``file:line``.
    """
    source = read_source(Path(path))
    problems = _Problems(source)
    data = as_mapping(source.data)
    if data is None:
        problems.add((), "a pipeline file is a mapping with 'tables:' (and optionally 'name:', "
                         "'schema:', 'configuration:', 'environments:', 'libraries:') at its top "
                         "level")
        problems.raise_if_any()
        raise AssertionError  # pragma: no cover
    header = _validate(PipelineHeader, data, (), problems, "pipeline file")
    if header is None:  # report the tables' problems too: drop the unknown top-level keys
        known = {f.alias or n for n, f in PipelineHeader.model_fields.items()}
        try:
            header = PipelineHeader.model_validate({k: v for k, v in data.items() if k in known})
        except ValidationError:
            problems.raise_if_any()
            raise

    overlay = _environment(header, environment, problems)
    env_conf = overlay.configuration if overlay is not None else {}
    try:
        conf = resolve_configuration([header.configuration, env_conf, configuration or {}],
                                     fallback)
    except ConfigurationError as exc:
        at_key: tuple[str | int, ...] = ("configuration", exc.key)
        if environment is not None and exc.key in env_conf:
            at_key = ("environments", environment, *at_key)
        problems.add(at_key, str(exc), field=exc.key)
        problems.raise_if_any()

    name = (overlay.name if overlay and overlay.name else header.name) or source.path.stem
    schema = (overlay.schema_ if overlay and overlay.schema_ else header.schema_)
    try:
        name = substitute_all(name, conf, lambda _: "name", fallback=fallback)
        schema = substitute_all(schema, conf, lambda _: "schema", fallback=fallback)
    except ConfigurationError as exc:
        problems.add(("schema",) if schema and "${" in schema else ("name",), str(exc),
                     field=exc.key)

    tables: list[FileTable] = []
    for index, raw in enumerate(header.tables):
        at: tuple[str | int, ...] = ("tables", index)
        try:
            resolved = substitute_all(raw, conf, dotted, at, fallback)
        except ConfigurationError as exc:
            problems.add(_path_of_reference(raw, at, exc.key), str(exc),
                         table=raw.get("name") if isinstance(raw.get("name"), str) else None,
                         field=exc.key)
            continue
        spec = _table(resolved, at, problems)
        if spec is not None:
            tables.append(FileTable(spec, index, source.positions.line(at), resolved))

    libraries: list[Path] = []
    for index, library in enumerate(header.libraries):
        file = (source.path.parent / library).resolve()
        if not file.is_file():
            problems.add(("libraries", index),
                         f"library '{library}' does not exist (looked for {file})")
        libraries.append(file)
    if not header.tables and not header.libraries and not problems.items:
        problems.add((), "the file declares no tables: list them under 'tables:'")
    problems.raise_if_any()
    return PipelineDocument(source.path, name, schema, environment, conf, tuple(tables),
                            tuple(libraries), source)


def _environment(header: PipelineHeader, environment: str | None,
                 problems: _Problems) -> Environment | None:
    if environment is None:
        return None
    overlay = header.environments.get(environment)
    if overlay is None:
        known = sorted(header.environments)
        close = difflib.get_close_matches(environment, known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        problems.add(("environments",) if known else (),
                     f"environment '{environment}' is not defined in this file.{hint} "
                     + (f"Environments: {', '.join(known)}." if known else
                        "It has no 'environments:' section."), field="environments")
        problems.raise_if_any()
    return overlay


def _table(data: Any, at: tuple[str | int, ...], problems: _Problems) -> Definition | None:
    table = as_mapping(data)
    kinds = file_kinds()
    if table is None:
        problems.add(at, "a table is a mapping with 'kind:', 'name:' and the fields of its kind")
        return None
    name = table.get("name") if isinstance(table.get("name"), str) else None
    label = f"table '{name}'" if name else f"table {dotted(at)}"
    kind = table.get("kind")
    if kind is None:
        problems.add(at, f"{label} has no 'kind': give one of {', '.join(kinds)}", table=name,
                     field="kind")
        return None
    if kind not in kinds:
        only_python = python_only_kinds()
        if kind in only_python:
            if hasattr(only_python[kind], "flow_type"):
                message = (f"{label}: kind '{kind}' flows run a Python function; declare "
                           "them in a Python file listed under 'libraries:'")
            else:
                message = (f"{label}: kind '{kind}' tables compute rows with a Python "
                           "function; declare them with @medallion.table in a Python file "
                           "listed under 'libraries:'")
        else:
            close = difflib.get_close_matches(str(kind), list(kinds), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            message = (f"{label}: kind '{kind}' is not a table kind.{hint} Kinds: "
                       f"{', '.join(kinds)}")
        problems.add((*at, "kind"), message, table=name, field="kind")
        return None
    spec_type = kinds[kind]
    subject = str(getattr(spec_type, "flow_type", f"{spec_type.layer} table"))
    spec: Definition | None = _validate(spec_type, table, at, problems,
                                        subject + (f" '{name}'" if name else ""))
    return spec


def _validate(model: type[Any], data: Mapping[str, Any], at: tuple[str | int, ...],
              problems: _Problems, subject: str) -> Any:
    """``model.model_validate(data)``; on failure add one problem per error and return None."""
    try:
        with validating():
            return model.model_validate(dict(data))
    except ValidationError as exc:
        # At the top level, "name" is the pipeline's, not a table's.
        name = data.get("name") if at and isinstance(data.get("name"), str) else None
        for err in exc.errors():
            flat, text = describe_error(err, model, data)
            loc = tuple(int(p) if p.isdigit() else p for p in flat.split(".")) if flat else ()
            if flat:
                text = text.replace(f"'{flat}'", f"'{dotted((*at, *loc))}'", 1)
            if not flat and at:
                text = f"({dotted(at)}) {text}"
            problems.add((*at, *loc), f"{subject}: {text}", table=name,
                         field=dotted(loc) or None)
        return None


def _find(value: Any, at: tuple[str | int, ...],
          match: Callable[[Any], bool]) -> tuple[str | int, ...] | None:
    """Path of the first value under ``value`` (itself included) for which ``match`` holds."""
    if match(value):
        return at
    items: Iterable[tuple[str | int, Any]] = (
        value.items() if isinstance(value, Mapping) else
        enumerate(value) if isinstance(value, list) else ())
    for key, item in items:
        found = _find(item, (*at, key), match)
        if found is not None:
            return found
    return None


def _path_of_reference(value: Any, at: tuple[str | int, ...],
                       key: str) -> tuple[str | int, ...]:
    """Path of the first string under ``value`` that refers to ``${key}``."""
    found = _find(value, at, lambda v: isinstance(v, str) and "${" in v and key in v)
    return found if found is not None else at


def _path_of_value(value: Any, at: tuple[str | int, ...], text: str) -> tuple[str | int, ...]:
    """Path of the first entry under ``value`` equal to ``text`` (else ``at``)."""
    found = _find(value, at, lambda v: v == text)
    return found if found is not None else at


def declare_document(document: PipelineDocument, pipeline: Pipeline) -> Pipeline:
    """Declare the document's tables into ``pipeline``, then run its Python libraries.

    The document's configuration is added to the pipeline's for keys it does not set, so
    Python definitions read it with :func:`medallion.config`.
    """
    for key, value in document.configuration.items():
        pipeline.configuration.setdefault(key, value)
    for table in document.tables:
        pipeline.declare(table.spec, location=document.location(table))
    if document.libraries:
        from medallion.files.python import run_python_file

        for library in document.libraries:
            run_python_file(library, pipeline)
    return pipeline


def check_references(document: PipelineDocument, pipeline: Pipeline) -> None:
    """Report a table read by a file table that ``pipeline`` does not define, at its line.

    Raises:
        PipelineFileError: naming the field, the missing table and the closest known name.
    """
    known = {out for d in pipeline.declarations for out in d.spec.outputs()}
    problems = _Problems(document.source)
    for table in document.tables:
        for name in table.spec.inputs():
            if is_external(name) or name in known:
                continue
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            at = _path_of_value(table.data, ("tables", table.index), name)
            problems.add(at, f"{table.spec.label()} ({dotted(at)}) reads "
                             f"'{name}', which this pipeline does not define.{hint} Declare "
                             "that table, or write 'schema.table' to read a table outside the "
                             "pipeline.", table=table.spec.name, field=dotted(at[2:]))
    problems.raise_if_any()


def load_pipeline_file(
    path: str | os.PathLike[str],
    *,
    environment: str | None = None,
    configuration: Mapping[str, Any] | None = None,
    into: Pipeline | None = None,
) -> Pipeline:
    """Declare the tables of a YAML/JSON pipeline file; one call, also in a Databricks notebook.

    The tables go into ``into``, else the active pipeline (``with medallion.Pipeline(...)``),
    else, inside a Databricks pipeline, the implicit one that registers them there; with none
    of these, a new :class:`medallion.Pipeline` named after the file is created. The
    pipeline's own configuration and ``configuration`` override the file's values; inside a
    Databricks pipeline a ``${key}`` no layer defines is read from the pipeline's
    configuration (its Spark conf).

    Example:
        >>> import medallion
        >>> pipeline = medallion.load_pipeline_file(
        ...     "examples/orders/pipeline.yaml", configuration={"raw": "/data/raw"})
        >>> pipeline.name, len(pipeline)
        ('orders', 7)

    Args:
        path: The ``.yaml``, ``.yml`` or ``.json`` file.
        environment: Overlay to apply, from the file's ``environments:``.
        configuration: Values overriding the file's (as ``--conf`` does).
        into: Pipeline to declare into.

    Raises:
        PipelineFileError: listing every problem in the file at ``file:line``.
        GraphError: a table is defined twice.
    """
    from medallion.backends.runtime import selected_backend, spark_conf
    from medallion.pipeline import active_pipeline, implicit_pipeline

    # A Pipeline with no tables yet is falsy (it has a length): compare with None.
    target = into if into is not None else active_pipeline()
    if target is None:
        target = implicit_pipeline()
    overrides = {**(target.configuration if target is not None else {}),
                 **(configuration or {})}
    fallback = spark_conf if selected_backend() == "databricks" else None
    document = read_pipeline_file(path, environment=environment, configuration=overrides,
                                  fallback=fallback)
    if target is None:
        target = Pipeline(document.name, schema=document.schema or DEFAULT_SCHEMA,
                          configuration=document.configuration)
    return declare_document(document, target)

