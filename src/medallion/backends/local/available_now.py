"""Run a streaming flow to completion: every available micro-batch, then stop.

``trigger(availableNow=True)`` processes what has arrived since the checkpoint and ends, so a
rerun without new input does nothing. Each micro-batch goes through a Python handler
(``foreachBatch``) whose Delta writes carry the batch id as an idempotent transaction version:
if the process dies after a write but before the checkpoint records the batch, the replayed batch
is skipped by Delta instead of being written twice.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medallion.backends.local import faults
from medallion.errors import BackendError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

BatchHandler = Callable[["DataFrame", int], None]


def run_available_now(
    stream: DataFrame, *, checkpoint: Path, query_name: str, handler: BatchHandler,
    names: tuple[str, ...] = (), owner: Any = None,
) -> int:
    """Process every available micro-batch of ``stream`` with ``handler``; return how many ran.

    An exception raised by the handler is re-raised here as itself (not wrapped by py4j).
    ``owner`` is the object whose attributes the handler updates (a flow: its result, notes);
    under Spark Connect the handler runs in the server's Python worker, and what it changed
    in ``owner`` is carried back (see :func:`_run_through_connect`).
    ``names`` (the table, and a flow's own name) are what ``$MEDALLION_FAULT`` may address to
    kill the process inside a micro-batch (see :mod:`medallion.backends.local.faults`).
    """
    from medallion.backends.local.connect import is_connect

    if is_connect(stream.sparkSession):
        return _run_through_connect(stream, checkpoint=checkpoint, query_name=query_name,
                                    handler=handler, owner=owner)
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

    query = _start(stream, checkpoint, query_name, on_batch)
    try:
        query.awaitTermination()
    except Exception:
        if errors:
            raise errors[0] from None
        raise
    if errors:
        raise errors[0]
    return len(batches)


def _start(stream: DataFrame, checkpoint: Path, query_name: str,
           on_batch: BatchHandler) -> Any:
    checkpoint.mkdir(parents=True, exist_ok=True)
    return (
        stream.writeStream.queryName(query_name)
        .option("checkpointLocation", checkpoint.as_uri())
        .trigger(availableNow=True)
        .foreachBatch(on_batch)
        .start()
    )


_WORKER_DID_NOT_START = "Python worker failed to connect back"
_WORKER_START_ATTEMPTS = 3
_EXCEPTION = "medallion:exception"

#: Attributes of a flow that describe the run rather than what a micro-batch changed.
_SHARED = ("run", "decl", "reader")


def _run_through_connect(
    stream: DataFrame, *, checkpoint: Path, query_name: str, handler: BatchHandler,
    owner: Any,
) -> int:
    """``foreachBatch`` under Spark Connect: the handler runs on the server, its effects return.

    Spark Connect pickles the handler and calls it in a Python worker next to the server, so
    what it appends to lists or adds to counters stays there. After each micro-batch the
    worker writes the handler owner's changed attributes (and, on failure, the exception)
    into the checkpoint folder, and this side takes them over when the query ends. The
    checkpoint folder must therefore be the same folder for the client and the server (the
    warehouse is a path both see), as for every other file the local runner reads.
    """
    channel = checkpoint / "_medallion_connect"
    shutil.rmtree(channel, ignore_errors=True)
    channel.mkdir(parents=True, exist_ok=True)
    done: list[int] = []

    def on_batch(batch: DataFrame, batch_id: int) -> None:  # runs in the server's worker
        try:
            handler(batch, batch_id)
        except BaseException as exc:
            _dump(channel / "error.pickle", exc)
            raise
        done.append(batch_id)
        state = None if owner is None else {
            k: v for k, v in vars(owner).items() if k not in _SHARED}
        _dump(channel / "state.pickle", (len(done), state))

    for attempt in range(1, _WORKER_START_ATTEMPTS + 1):
        query = _start(stream, checkpoint, query_name, on_batch)
        try:
            query.awaitTermination()
            break
        except Exception as exc:
            error = _load(channel / "error.pickle")
            if isinstance(error, BaseException):
                raise error from None
            # Spark waits a fixed 10 s for the server's Python worker to start; on a busy
            # machine it can take longer. No batch ran, so starting again from the
            # checkpoint is safe.
            if _WORKER_DID_NOT_START not in str(exc) or attempt == _WORKER_START_ATTEMPTS:
                raise
    error = _load(channel / "error.pickle")
    if isinstance(error, BaseException):
        raise error
    carried = _load(channel / "state.pickle")
    if carried is None:
        return 0
    count, state = carried
    if owner is not None and state:
        vars(owner).update(state)
    return int(count)


def _dump(path: Path, value: Any) -> None:
    from pyspark import cloudpickle

    dumps: Callable[[Any], bytes] = cloudpickle.dumps
    if isinstance(value, BaseException):
        # Exceptions pickle as cls(*args), which fails for those whose __init__ takes other
        # arguments (ExpectationFailed); class, args and attributes rebuild any of them.
        value = (_EXCEPTION, type(value), value.args, dict(vars(value)))
    try:
        data = dumps(value)
    except Exception as exc:  # pragma: no cover - flows keep plain data
        data = dumps(BackendError(
            f"under Spark Connect, the state of a micro-batch handler could not be sent back "
            f"({type(exc).__name__}: {exc}); this flow cannot run through Spark Connect"))
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _load(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        value = pickle.loads(data)
    except Exception as exc:  # e.g. a class this side cannot import
        return BackendError(f"a micro-batch failed on the Spark Connect server, and its error "
                            f"could not be read back here ({exc})")
    if isinstance(value, tuple) and len(value) == 4 and value[0] == _EXCEPTION:
        _, cls, args, attributes = value
        error = cls.__new__(cls)
        error.args = args
        vars(error).update(attributes)
        return error
    return value
