"""Load a pipeline definition file: Python (like a DLT notebook) or YAML/JSON.

A Python file calls the factories; a YAML/JSON file lists specs (see :mod:`medallion.files`).
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medallion.errors import MedallionError, SpecError
from medallion.pipeline import Pipeline


def load_pipeline(
    path: str | os.PathLike[str],
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
    ``medallion.Pipeline`` and expose it as ``pipeline``; that one is returned then.

    Args:
        path: The file.
        name: Pipeline name (default: the file's, else the file name without its ending).
        schema: Schema the tables are registered in (default: the file's, else
            ``medallion_db``).
        configuration: Configuration values; they override the file's.
        environment: Environment overlay of a pipeline file (``environments:`` in it).

    Raises:
        SpecError: the file does not exist, declares nothing, or fails while declaring.
        MedallionError: a definition in it is invalid (names the table and field).
    """
    from medallion.files.source import is_pipeline_file

    if is_pipeline_file(path):
        from medallion.files.load import check_references, declare_document, read_pipeline_file
        from medallion.pipeline import DEFAULT_SCHEMA

        document = read_pipeline_file(path, environment=environment, configuration=configuration)
        pipeline = Pipeline(name or document.name,
                            schema=schema or document.schema or DEFAULT_SCHEMA,
                            configuration=document.configuration)
        declare_document(document, pipeline)
        check_references(document, pipeline)
        return pipeline
    if environment is not None:
        raise SpecError(
            f"--env {environment}: environments are a feature of YAML/JSON pipeline files; "
            f"'{path}' is Python. Read settings with medallion.config(key) and pass --conf."
        )
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"pipeline file '{path}' does not exist")
    pipeline = Pipeline(name or file.stem, configuration=configuration,
                        **({"schema": schema} if schema else {}))
    namespace = run_python_file(file, pipeline)
    own = namespace.get("pipeline")
    if isinstance(own, Pipeline) and len(own) and not len(pipeline):
        return own
    if not len(pipeline):
        raise SpecError(
            f"pipeline file '{path}' declares no tables: call medallion.bronze_autoloader(), "
            "silver_with_rules(), gold_aggregate() or @medallion.table at its top level"
        )
    return pipeline


def run_python_file(file: Path, pipeline: Pipeline) -> dict[str, Any]:
    """Run a Python definition file with ``pipeline`` active; return the file's namespace.

    Raises:
        SpecError: the file is not valid Python or raises while declaring.
        MedallionError: a definition in it is invalid.
    """
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    try:
        with pipeline:
            return runpy.run_path(str(file), run_name="__medallion__")
    except MedallionError:
        raise
    except SyntaxError as exc:
        raise SpecError(f"pipeline file '{file}' is not valid Python: {exc}") from exc
    except Exception as exc:
        raise SpecError(
            f"pipeline file '{file}' raised {type(exc).__name__} while declaring tables: {exc}"
        ) from exc
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
