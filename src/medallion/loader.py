"""Load a pipeline definition: Python files (like DLT notebooks) or a YAML/JSON pipeline file.

A Python file calls the factories; a YAML/JSON file lists specs (see :mod:`medallion.files`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from medallion.errors import SpecError
from medallion.files.python import NeedsSpark, run_python_file
from medallion.pipeline import Pipeline

PathLike = str | os.PathLike[str]


def load_pipeline(
    path: PathLike | Sequence[PathLike],
    *,
    name: str | None = None,
    schema: str | None = None,
    configuration: Mapping[str, str] | None = None,
    environment: str | None = None,
) -> Pipeline:
    """Load ``path`` into a fresh :class:`Pipeline` and return it with its declarations.

    A ``.yaml``/``.yml``/``.json`` file is a pipeline file (:func:`medallion.load_pipeline_file`);
    any other file is Python, run as a script (``__name__ == "__medallion__"``) with its folder
    on ``sys.path`` so it can import its neighbours. A Python file may also open its own
    ``medallion.Pipeline`` and expose it as ``pipeline``; that one is returned then. Give
    several Python files (like the notebooks of one Databricks pipeline) to declare them all into
    one pipeline, in the order given.

    Like a Databricks notebook, a Python file sees a global ``spark``: configuration lookups
    (``spark.conf.get``) read the pipeline's configuration, and inside query functions it is the
    runner's session (see :mod:`medallion.backends.local.notebook`). No Spark starts here,
    unless a file builds Spark objects at its top level (``sequence_by=col("ts")``): then the
    local session starts and the files are declared again, as a Databricks notebook would run.

    Args:
        path: The file, or several Python files.
        name: Pipeline name (default: the file's, else the first file name without its ending).
        schema: Schema the tables are registered in (default: the file's, else
            ``medallion_db``).
        configuration: Configuration values; they override the file's.
        environment: Environment overlay of a pipeline file (``environments:`` in it).

    Raises:
        SpecError: a file does not exist, declares nothing, or fails while declaring.
        MedallionError: a definition in it is invalid (names the table and field).
    """
    from medallion.files.source import is_pipeline_file

    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths:
        raise SpecError("no pipeline file given")
    if len(paths) == 1 and is_pipeline_file(paths[0]):
        from medallion.files.document import check_references, declare_document, read_pipeline_file
        from medallion.pipeline import DEFAULT_SCHEMA

        document = read_pipeline_file(paths[0], environment=environment,
                                      configuration=configuration)
        pipeline = Pipeline(name or document.name,
                            schema=schema or document.schema or DEFAULT_SCHEMA,
                            configuration=document.configuration)
        declare_document(document, pipeline)
        check_references(document, pipeline)
        return pipeline
    files = [Path(p) for p in paths]
    for file in files:
        if is_pipeline_file(file):
            raise SpecError(
                f"'{file}' is a YAML/JSON pipeline file: give it alone, not with other files "
                "(list Python files under its libraries: instead)"
            )
        if not file.is_file():
            raise SpecError(f"pipeline file '{file}' does not exist")
    if environment is not None:
        raise SpecError(
            f"--env {environment}: environments are a feature of YAML/JSON pipeline files; "
            f"'{files[0]}' is Python. Read settings with medallion.config(key) and pass --conf."
        )
    try:
        pipeline, own = _declare_files(files, name, schema, configuration)
    except NeedsSpark:
        # The files build Spark objects while declaring (the documented AUTO CDC example's
        # sequence_by=col("ts")), which needs a session, as a Databricks notebook always has.
        start_notebook_session()
        pipeline, own = _declare_files(files, name, schema, configuration)
    if own is not None and len(own) and not len(pipeline):
        return own
    if not len(pipeline):
        shown = "', '".join(str(p) for p in files)
        raise SpecError(
            f"pipeline file '{shown}' declares no tables: call medallion.bronze_autoloader(), "
            "silver_with_rules(), gold_aggregate() or @medallion.table at its top level"
        )
    return pipeline


def _declare_files(
    files: list[Path], name: str | None, schema: str | None,
    configuration: Mapping[str, str] | None,
) -> tuple[Pipeline, Pipeline | None]:
    pipeline = Pipeline(name or files[0].stem, configuration=configuration,
                        **({"schema": schema} if schema else {}))
    own: Pipeline | None = None
    for file in files:
        found = run_python_file(file, pipeline).get("pipeline")
        own = found if isinstance(found, Pipeline) else own
    return pipeline, own


def start_notebook_session() -> None:
    """Start the local runner's session (its startup log in the temp folder, not the console)."""
    import tempfile

    from medallion.backends.local.session import local_session, require_spark

    require_spark("declare tables whose arguments are Spark Columns")
    local_session(quiet_startup_log=Path(tempfile.gettempdir()) / "medallion-spark.log")
