"""Fault injection for crash tests: SIGKILL the runner's own process at a named point.

Only the local runner reads this, and only from the environment, so a test can kill a real
``medallion run`` subprocess at an exact moment instead of racing it with timers::

    MEDALLION_FAULT=silver_orders:first-batch medallion run pipeline.yaml

``MEDALLION_FAULT`` holds ``table:point`` entries separated by commas; the process kills itself
(``SIGKILL``: no cleanup, no ``finally``, like a lost machine) at the first point it reaches.
The points:

``first-batch``
    inside micro-batch 0 of a table's stream (a fresh checkpoint), before its handler writes.
``later-batch``
    inside a micro-batch after the first one, before its handler writes.
``after-commit``
    after a micro-batch's Delta commits, before Spark records the batch in its checkpoint.
``event-log``
    while the run's events are written (the table part names the event log table,
    ``event_log`` by default): every table is done, the event log is not committed.

A flow is addressed by its target table's name or by its own name.
"""

from __future__ import annotations

import os
import signal

ENV = "MEDALLION_FAULT"
POINTS = ("first-batch", "later-batch", "after-commit", "event-log")


def armed() -> frozenset[tuple[str, str]]:
    """The ``(table, point)`` pairs named by ``$MEDALLION_FAULT`` (empty when unset)."""
    pairs = set()
    for entry in os.environ.get(ENV, "").split(","):
        table, sep, point = entry.strip().rpartition(":")
        if sep and table and point in POINTS:
            pairs.add((table, point))
    return frozenset(pairs)


def reach(point: str, *names: str) -> None:
    """SIGKILL this process when ``$MEDALLION_FAULT`` names ``point`` for one of ``names``."""
    faults = armed()
    if faults and any((name, point) in faults for name in names):
        os.kill(os.getpid(), signal.SIGKILL)


def batch_point(batch_id: int) -> str:
    """The point of a micro-batch before its write: the first one or a later one."""
    return "first-batch" if batch_id == 0 else "later-batch"
