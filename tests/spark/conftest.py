from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.spark


def write_json_lines(folder: Path, name: str, records: Iterable[dict[str, Any] | str]) -> Path:
    """Write records (dicts, or raw text lines) as one JSON-lines file; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    tmp = folder / f".{name}.tmp"
    tmp.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    tmp.replace(path)
    return path


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    return folder
