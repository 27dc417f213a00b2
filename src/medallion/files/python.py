"""Run a Python pipeline file: the one place medallion executes a user's definition file.

The local runner (:func:`medallion.load_pipeline`, a pipeline file's ``libraries:``) and
``spark-pipelines`` (:func:`medallion.backends.spark_pipelines.register_file`) both run files
through :func:`run_file`: as a script named ``__medallion__``, with its folder first on
``sys.path`` so it can import its neighbours.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medallion.errors import MedallionError, SpecError

if TYPE_CHECKING:
    from medallion.pipeline import Pipeline

#: ``__name__`` while a pipeline file runs.
RUN_NAME = "__medallion__"


def run_file(file: Path, init_globals: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``file`` as a script with ``init_globals``; return its namespace.

    The file's folder is first on ``sys.path`` while it runs, then taken off again.
    """
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    try:
        return runpy.run_path(str(file), run_name=RUN_NAME, init_globals=init_globals)
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
        elif folder in sys.path:
            sys.path.remove(folder)


class NeedsSpark(Exception):
    """A file called pyspark at its top level before any SparkContext existed."""


def run_python_file(file: Path, pipeline: Pipeline) -> dict[str, Any]:
    """Run a Python definition file with ``pipeline`` active; return the file's namespace.

    The file gets a notebook-style global ``spark``
    (:class:`~medallion.backends.local.notebook.NotebookSpark`).

    Raises:
        SpecError: the file is not valid Python or raises while declaring.
        MedallionError: a definition in it is invalid.
        NeedsSpark: the file builds Spark objects at its top level and no session runs.
    """
    from medallion.backends.local.notebook import NotebookSpark

    try:
        with pipeline:
            return run_file(file, {"spark": NotebookSpark()})
    except MedallionError:
        raise
    except SyntaxError as exc:
        raise SpecError(f"pipeline file '{file}' is not valid Python: {exc}") from exc
    except Exception as exc:
        if _needs_spark(exc):
            raise NeedsSpark from exc
        raise SpecError(
            f"pipeline file '{file}' raised {type(exc).__name__} while declaring tables: {exc}"
        ) from exc


def _needs_spark(exc: BaseException) -> bool:
    """Whether ``exc`` is pyspark's refusal to build a Column without a SparkContext."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames or "pyspark" not in Path(frames[-1].filename).parts:
        return False
    from pyspark import SparkContext

    return SparkContext._active_spark_context is None
