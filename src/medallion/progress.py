"""Progress of a pipeline run on the terminal: a live table on a TTY, plain lines elsewhere.

The live view redraws one line per table (waiting, running with its elapsed time, then its
outcome and counts) in place, a few times a second at most. Plain mode, for CI logs and pipes,
prints one stable line per event, easy to grep:

```text
[medallion] started pipeline=orders tables=3
[medallion] running bronze_orders
[medallion] done bronze_orders rows_in=6 written=6 dropped=0 quarantined=0 seconds=1.2
[medallion] running silver_orders
[medallion] failed silver_orders seconds=0.8
[medallion] skipped gold_sales after=silver_orders
[medallion] finished pipeline=orders status=failed seconds=3.1
```

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> progress = PlainProgress(out)
    >>> progress.start("orders", ["bronze_orders"])
    >>> print(out.getvalue(), end="")
    [medallion] started pipeline=orders tables=1
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol, TextIO

from medallion.backends.local.result import HEADER

if TYPE_CHECKING:
    from medallion.backends.local.result import RunResult, TableResult
    from medallion.pipeline import Declaration

Mode = Literal["auto", "live", "plain"]
PREFIX = "[medallion]"

#: Outcome words of plain lines, by TableResult status.
STATE_WORDS = {"completed": "done", "up_to_date": "up_to_date", "failed": "failed",
               "skipped": "skipped"}


class Progress(Protocol):
    """What the CLI tells a progress display."""

    def start(self, pipeline: str, tables: Sequence[str]) -> None:
        """The run begins; ``tables`` in the order they will run."""

    def table_started(self, decl: Declaration) -> None:
        """A table starts running."""

    def table_done(self, table: TableResult) -> None:
        """A table finished (or was skipped)."""

    def finish(self, result: RunResult) -> None:
        """The run ended: show the final per-table summary."""

    def close(self) -> None:
        """Stop drawing (also after an interruption)."""


def choose_mode(stream: TextIO, mode: Mode = "auto", verbose: bool = False) -> Mode:
    """``live`` on an interactive terminal, else ``plain`` (and always plain with Spark logs)."""
    if mode != "auto":
        return mode
    if verbose or os.environ.get("TERM") == "dumb" or os.environ.get("CI"):
        return "plain"
    isatty = getattr(stream, "isatty", None)
    return "live" if isatty is not None and isatty() else "plain"


def make_progress(stream: TextIO, mode: Mode = "auto", verbose: bool = False) -> Progress:
    """The progress display for ``stream``: :class:`LiveProgress` or :class:`PlainProgress`."""
    if choose_mode(stream, mode, verbose) == "live":
        return LiveProgress(stream)
    return PlainProgress(stream)


def _counts(table: TableResult) -> str:
    return (f"rows_in={table.rows_in} written={table.rows_written} "
            f"dropped={table.rows_dropped} quarantined={table.rows_quarantined}")


class PlainProgress:
    """One line per event; the per-table summary at the end."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _say(self, text: str) -> None:
        self.stream.write(f"{PREFIX} {text}\n")
        self.stream.flush()

    def start(self, pipeline: str, tables: Sequence[str]) -> None:  # noqa: D102
        self._say(f"started pipeline={pipeline} tables={len(tables)}")

    def table_started(self, decl: Declaration) -> None:  # noqa: D102
        self._say(f"running {decl.name}")

    def table_done(self, table: TableResult) -> None:  # noqa: D102
        word = STATE_WORDS[table.status]
        if table.status == "skipped":
            culprit = table.detail.split("'")[1] if table.detail.count("'") >= 2 else ""
            self._say(f"skipped {table.name}" + (f" after={culprit}" if culprit else ""))
        elif table.status == "failed":
            self._say(f"failed {table.name} seconds={table.seconds:.1f}")
        else:
            self._say(f"{word} {table.name} {_counts(table)} seconds={table.seconds:.1f}")

    def finish(self, result: RunResult) -> None:  # noqa: D102
        status = "succeeded" if result.ok else "failed"
        self._say(f"finished pipeline={result.pipeline} status={status} "
                  f"seconds={result.seconds:.1f}")
        self.stream.write(HEADER + "\n")
        for table in result.tables.values():
            self.stream.write(table.line() + "\n")
        self.stream.flush()

    def close(self) -> None:  # noqa: D102
        self.stream.flush()


_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_COLOURS = {"ok": "32", "up to date": "32", "FAILED": "31", "skipped": "33", "running": "36",
            "waiting": "2"}


class LiveProgress:
    """A table redrawn in place: one line per table, updated as tables start and finish.

    Args:
        stream: A terminal.
        interval: Seconds between redraws of the running table's clock (None: only on events).
        colour: Colour the states (default: unless ``$NO_COLOR`` is set).
    """

    def __init__(self, stream: TextIO, interval: float | None = 0.25,
                 colour: bool | None = None) -> None:
        self.stream = stream
        self.interval = interval
        self.colour = colour if colour is not None else not os.environ.get("NO_COLOR")
        self._order: list[str] = []
        self._results: dict[str, TableResult] = {}
        self._started: dict[str, float] = {}
        self._drawn = 0
        self._tick = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- events ----------------------------------------------------------------------------------
    def start(self, pipeline: str, tables: Sequence[str]) -> None:  # noqa: D102
        self._order = list(tables)
        self.render()
        if self.interval is not None:
            self._thread = threading.Thread(target=self._ticker, name="medallion-progress",
                                            daemon=True)
            self._thread.start()

    def table_started(self, decl: Declaration) -> None:  # noqa: D102
        self._started[decl.name] = time.perf_counter()
        self.render()

    def table_done(self, table: TableResult) -> None:  # noqa: D102
        self._results[table.name] = table
        self.render()

    def finish(self, result: RunResult) -> None:  # noqa: D102
        self._halt()
        self._results.update(result.tables)
        self._started.clear()
        self.render()

    def close(self) -> None:  # noqa: D102
        self._halt()

    # -- drawing ---------------------------------------------------------------------------------
    def _ticker(self) -> None:
        assert self.interval is not None
        while not self._stop.wait(self.interval):
            if any(name not in self._results for name in self._started):
                self._tick += 1
                self.render()

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _paint(self, text: str, state: str) -> str:
        code = _COLOURS.get(state)
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour and code else text

    def lines(self) -> list[str]:
        """The current frame: the header, then one line per table."""
        now = time.perf_counter()
        out = [HEADER]
        for name in self._order:
            result = self._results.get(name)
            if result is not None:
                line = result.line()
                head = f"{result.name:<24} "
                state = line[len(head):len(head) + 10]
                out.append(head + self._paint(state, state.strip()) + line[len(head) + 10:])
            elif name in self._started:
                spin = _SPINNER[self._tick % len(_SPINNER)]
                text = f"{'running ' + spin:<10}"
                seconds = now - self._started[name]
                out.append(f"{name:<24} {self._paint(text, 'running')} "
                           f"{'':>10} {'':>10} {'':>9} {'':>11} {seconds:>7.1f}s")
            else:
                waiting = f"{'waiting':<10}"
                out.append(f"{name:<24} {self._paint(waiting, 'waiting')}")
        return out

    def render(self) -> None:
        """Redraw the frame in place."""
        width = max(20, shutil.get_terminal_size((100, 20)).columns - 1)
        with self._lock:
            frame = self.lines()
            parts = []
            if self._drawn:
                parts.append(f"\x1b[{self._drawn}F")  # to the start of the first drawn line
            for line in frame:
                parts.append("\x1b[2K" + _fit(line, width) + "\n")
            self.stream.write("".join(parts))
            self.stream.flush()
            self._drawn = len(frame)


def _fit(line: str, width: int) -> str:
    """Cut ``line`` to ``width`` visible characters (colour codes do not count)."""
    visible = 0
    out = []
    i = 0
    while i < len(line):
        if line[i] == "\x1b":
            end = line.find("m", i)
            out.append(line[i:end + 1])
            i = end + 1
            continue
        if visible >= width:
            break
        out.append(line[i])
        visible += 1
        i += 1
    text = "".join(out)
    return text + "\x1b[0m" if "\x1b[" in text and not text.endswith("\x1b[0m") else text
