"""Load a pipeline definition file (Python that calls the factories, like a DLT notebook)."""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Mapping
from pathlib import Path

from medallion.errors import MedallionError, SpecError
from medallion.pipeline import Pipeline


def load_pipeline(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    schema: str | None = None,
    configuration: Mapping[str, str] | None = None,
) -> Pipeline:
    """Execute ``path`` inside a fresh :class:`Pipeline` and return it with its declarations.

    The file is run as a script (``__name__ == "__medallion__"``), with its folder on
    ``sys.path`` so it can import its neighbours. A file may also open its own
    ``medallion.Pipeline`` and expose it as ``pipeline``; that one is returned then.

    Raises:
        SpecError: the file does not exist, declares nothing, or fails while declaring.
        MedallionError: a definition in it is invalid (names the table and field).
    """
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"pipeline file '{path}' does not exist")
    pipeline = Pipeline(name or file.stem, configuration=configuration,
                        **({"schema": schema} if schema else {}))
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    try:
        with pipeline:
            namespace = runpy.run_path(str(file), run_name="__medallion__")
    except MedallionError:
        raise
    except SyntaxError as exc:
        raise SpecError(f"pipeline file '{path}' is not valid Python: {exc}") from exc
    except Exception as exc:
        raise SpecError(
            f"pipeline file '{path}' raised {type(exc).__name__} while declaring tables: {exc}"
        ) from exc
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
    own = namespace.get("pipeline")
    if isinstance(own, Pipeline) and len(own) and not len(pipeline):
        return own
    if not len(pipeline):
        raise SpecError(
            f"pipeline file '{path}' declares no tables: call medallion.bronze_autoloader(), "
            "silver_with_rules(), gold_aggregate() or @medallion.table at its top level"
        )
    return pipeline
