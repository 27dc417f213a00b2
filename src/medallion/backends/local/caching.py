"""How the local runner keeps rows it reads more than once: on local disk, never only in memory.

A micro-batch that feeds two writes (kept rows and quarantine), a MERGE's source, or change
events folded twice are computed once and kept. Spark's default level for a DataFrame,
``MEMORY_AND_DISK_DESER``, first unrolls each partition in the JVM heap and only then spills;
with large partitions (a 10M-row micro-batch) on a default 1 GiB driver, the partially
unrolled blocks of the concurrent tasks exhaust the heap and the JVM dies
(``OutOfMemoryError`` in ``ColumnBuilder.ensureFreeSpace``). ``DISK_ONLY`` writes one
compressed column batch at a time, so the heap a cache needs no longer grows with the rows;
reading it back is served by the operating system's page cache. Measured on the small-data
loop (``bench/small_pipeline.py``, 3 rounds each): 1.276 with ``DISK_ONLY``, 1.304 with the
default level — no cost where pipeline tests run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def keep(df: DataFrame) -> DataFrame:
    """``df`` marked to be kept once computed (release it with ``unpersist()``)."""
    from pyspark import StorageLevel

    return df.persist(StorageLevel.DISK_ONLY)
