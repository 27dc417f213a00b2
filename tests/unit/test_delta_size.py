"""A Delta table's size comes from its latest checksum file, without Spark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medallion.backends.local import delta


class NoSpark:
    """Fails if the size is asked of Spark although the checksum file answers."""

    def sql(self, query: str) -> Any:
        raise AssertionError(f"Spark was asked: {query}")


def test_size_is_read_from_the_latest_checksum_file(tmp_path: Path) -> None:
    log = tmp_path / "_delta_log"
    log.mkdir()
    for version, size in ((0, 100), (1, 2345)):
        (log / f"{version:020d}.json").write_text("{}\n")
        (log / f"{version:020d}.crc").write_text(json.dumps({"tableSizeBytes": size}))
    assert delta.size_in_bytes(NoSpark(), tmp_path) == 2345  # type: ignore[arg-type]


def test_without_a_checksum_file_spark_is_asked(tmp_path: Path) -> None:
    log = tmp_path / "_delta_log"
    log.mkdir()
    (log / f"{0:020d}.json").write_text("{}\n")
    with pytest.raises(AssertionError, match="DESCRIBE DETAIL"):
        delta.size_in_bytes(NoSpark(), tmp_path)  # type: ignore[arg-type]
