"""Run a streaming flow to completion: every available micro-batch, then stop.

``trigger(availableNow=True)`` processes what has arrived since the checkpoint and ends, so a
rerun without new input does nothing. Each micro-batch goes through a Python handler
(``foreachBatch``) whose Delta writes carry the batch id as an idempotent transaction version:
if the process dies after a write but before the checkpoint records the batch, the replayed batch
is skipped by Delta instead of being written twice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from medallion.backends.local import faults

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

BatchHandler = Callable[["DataFrame", int], None]


def run_available_now(
    stream: DataFrame, *, checkpoint: Path, query_name: str, handler: BatchHandler,
    names: tuple[str, ...] = (),
) -> int:
    """Process every available micro-batch of ``stream`` with ``handler``; return how many ran.

    An exception raised by the handler is re-raised here as itself (not wrapped by py4j).
    ``names`` (the table, and a flow's own name) are what ``$MEDALLION_FAULT`` may address to
    kill the process inside a micro-batch (see :mod:`medallion.backends.local.faults`).
    """
    errors: list[BaseException] = []
    batches: list[int] = []

    def on_batch(batch: DataFrame, batch_id: int) -> None:
        try:
            faults.reach(faults.batch_point(batch_id), *names)
            handler(batch, batch_id)
            faults.reach("after-commit", *names)
            batches.append(batch_id)
        except BaseException as exc:
            errors.append(exc)
            raise

    checkpoint.mkdir(parents=True, exist_ok=True)
    query = (
        stream.writeStream.queryName(query_name)
        .option("checkpointLocation", checkpoint.as_uri())
        .trigger(availableNow=True)
        .foreachBatch(on_batch)
        .start()
    )
    try:
        query.awaitTermination()
    except Exception:
        if errors:
            raise errors[0] from None
        raise
    if errors:
        raise errors[0]
    return len(batches)
