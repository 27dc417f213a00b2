"""A bronze table's reader options: the ``cloudFiles`` stream's, and Spark's file readers'.

:func:`autoloader_options` and :func:`autoloader_schema` are pure: they turn a
:class:`~medallion.specs.bronze.BronzeSpec` into the ``cloudFiles`` stream a Databricks pipeline
runs. :func:`reader_options` gives the options of Spark's own file readers, which the local
runner, a local notebook's Auto Loader read and ``spark-pipelines`` use instead.
"""

from __future__ import annotations

from medallion.specs.bronze import TEXT_FORMATS, BronzeSpec
from medallion.specs.ddl import DdlColumn, columns_ddl

#: Options that are about choosing files, not parsing them.
FILE_CHOOSING = frozenset({"pathglobfilter", "recursivefilelookup", "modifiedbefore",
                           "modifiedafter"})


def autoloader_options(spec: BronzeSpec) -> dict[str, str]:
    """Every reader option of the ``cloudFiles`` stream for ``spec`` (not ``schemaLocation``).

    The rescued data column is Auto Loader's documented ``rescuedDataColumn`` option (a file
    format option, without the ``cloudFiles.`` prefix). Options that Databricks would otherwise
    default differently from medallion are given
    explicitly (the evolution mode, the rescued data column, the corrupt record column), so the
    stream means the same thing on Databricks as on the local runner. For JSON and CSV the
    corrupt record column is declared (through ``cloudFiles.schemaHints`` when the schema is
    inferred, or :func:`autoloader_schema` when it is given) so that a malformed record keeps its
    raw text instead of becoming a row of NULLs.

    Example:
        >>> from medallion import BronzeSpec
        >>> spec = BronzeSpec(name="b", path="/raw", format="json", schema_hints="amount DOUBLE")
        >>> autoloader_options(spec)  # doctest: +NORMALIZE_WHITESPACE
        {'cloudFiles.format': 'json', 'cloudFiles.schemaEvolutionMode': 'addNewColumns',
         'cloudFiles.includeExistingFiles': 'true', 'cloudFiles.inferColumnTypes': 'false',
         'cloudFiles.schemaHints': '`amount` DOUBLE, `_corrupt_record` STRING',
         'rescuedDataColumn': '_rescued_data',
         'columnNameOfCorruptRecord': '_corrupt_record'}
    """
    options: dict[str, str] = {"cloudFiles.format": spec.format}
    if spec.format != "text":
        options["cloudFiles.schemaEvolutionMode"] = spec.evolution_mode
    options["cloudFiles.includeExistingFiles"] = flag(spec.include_existing_files)
    if spec.max_files_per_trigger is not None:
        options["cloudFiles.maxFilesPerTrigger"] = str(spec.max_files_per_trigger)
    inferring = spec.schema_ is None and spec.format != "text"
    if inferring:
        options["cloudFiles.inferColumnTypes"] = flag(spec.infer_column_types)
        hints = list(spec.declared_columns)
        corrupt = spec.corrupt_record_column
        if corrupt is not None:  # never among the hints: the spec rejects that
            hints.append(DdlColumn(corrupt, "STRING"))
        if hints:
            options["cloudFiles.schemaHints"] = columns_ddl(hints)
    if spec.rescue_column is not None:
        options["rescuedDataColumn"] = spec.rescue_column
    if spec.format in TEXT_FORMATS and spec.corrupt_record_column is not None:
        options["columnNameOfCorruptRecord"] = spec.corrupt_record_column
    for key, value in spec.options.items():
        options.setdefault(key, value)
    return options


def autoloader_schema(spec: BronzeSpec) -> str | None:
    """The DDL schema to give the ``cloudFiles`` reader, or None when Auto Loader infers it.

    The declared ``schema`` plus, for JSON and CSV, the corrupt record column (a malformed
    record keeps its raw text there).

    Example:
        >>> from medallion import BronzeSpec
        >>> autoloader_schema(BronzeSpec(name="b", path="/raw", schema="id BIGINT"))
        '`id` BIGINT, `_corrupt_record` STRING'
    """
    if spec.schema_ is None:
        return None
    columns = list(spec.declared_columns)
    corrupt = spec.corrupt_record_column
    if corrupt is not None:
        columns.append(DdlColumn(corrupt, "STRING"))
    return columns_ddl(columns)


def reader_options(spec: BronzeSpec, *, inferring: bool, listed: bool) -> dict[str, str]:
    """Options of Spark's file readers for ``spec``: the one source of bronze reader options.

    Args:
        spec: The bronze table.
        inferring: Spark infers the files' schema with these options. Without
            ``infer_column_types``, inferred JSON and CSV columns are then strings, as Auto
            Loader's ``cloudFiles.inferColumnTypes=false`` (the default) makes them.
        listed: Leave out the options that choose files (``pathGlobFilter``,
            ``recursiveFileLookup``, ``modifiedBefore``/``After``): the local runner gives
            its readers the files of a micro-batch it listed itself
            (:func:`~medallion.core.bronze.rows.bronze_rows`, which reads ``spec.path``, keeps
            them). When inferring listed files (the local runner's
            census of a batch's columns) ``mode`` is left out as well: inference reads
            permissively, and a malformed record is the read's business (kept, or failing the
            run under ``mode=FAILFAST``).

    Example:
        >>> from medallion import BronzeSpec
        >>> spec = BronzeSpec(name="b", path="/x", format="json",
        ...                   options={"pathGlobFilter": "*.json", "mode": "FAILFAST"})
        >>> reader_options(spec, inferring=True, listed=False)  # doctest: +NORMALIZE_WHITESPACE
        {'pathGlobFilter': '*.json', 'mode': 'FAILFAST', 'primitivesAsString': 'true'}
        >>> reader_options(spec, inferring=False, listed=True)
        {'mode': 'FAILFAST'}
        >>> reader_options(spec, inferring=True, listed=True)
        {'primitivesAsString': 'true'}
    """
    skip = (FILE_CHOOSING | ({"mode"} if inferring else set())) if listed else frozenset()
    options = {k: v for k, v in spec.options.items() if k.lower() not in skip}
    if inferring and spec.format == "json" and not spec.infer_column_types:
        options.setdefault("primitivesAsString", "true")
    if inferring and spec.format == "csv":
        options.setdefault("inferSchema", flag(spec.infer_column_types))
    return options


def flag(value: bool) -> str:
    """A boolean as a Spark option value."""
    return "true" if value else "false"
