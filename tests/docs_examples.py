"""Run the code examples of the docs site (docs/**/*.md) and of README.md.

Each fenced block is run according to its language, in a scratch folder per page (with
``examples/`` linked in), in page order:

- ``python``: executed in one namespace per page, inside a ``medallion.Pipeline`` for the page;
- ``yaml`` with ``tables:`` or ``libraries:``: read as a pipeline file and its graph validated;
  other YAML is parsed; ``json`` is parsed;
- ``bash``: every line is a ``medallion`` command (``VAR=value`` prefixes allowed), run
  in-process; it must exit 0. ``run``, ``demo``, ``quality`` and ``report`` need Spark and run
  in the Spark test;
- ``console``: ``$ medallion ...`` then the exact output expected;
- ``mermaid``: must equal ``medallion graph FILE`` for the file named by a preceding
  ``<!-- graph: FILE -->``; a picture drawn by hand is marked ``<!-- docs-test: drawing -->``
  instead, and must be a Mermaid ``flowchart`` whose every arrow joins declared nodes;
- ``text``: output samples, not run.

An HTML comment on the line before a block changes that: ``<!-- docs-test: skip: REASON -->``
(a reason is required), ``spark`` (a Python block run in the Spark test, whose ``test_*``
functions are called with pytest fixtures), ``fragment`` (a pipeline file excerpt: specs
validated, missing configuration filled with ``1``, graph not checked), ``file NAME`` (the
block is written to NAME in the page's folder, before any block runs).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPARK_COMMANDS = ("run", "demo", "quality", "report")
_FENCE = re.compile(r"^```([A-Za-z0-9_-]*)\s*$")
_MARK = re.compile(r"^<!--\s*(docs-test|graph):\s*(.*?)\s*-->\s*$")
_SNIPPET = re.compile(r'^--8<-- "([^"]+)"\s*$')


@dataclass
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int
    lang: str
    text: str
    marks: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages(readme: bool = True) -> list[Path]:
    """Every page of the docs site, then README.md (whose shell commands set up a machine:
    only its other blocks run here; CI runs its test command itself)."""
    return [*sorted((ROOT / "docs").rglob("*.md")), *([ROOT / "README.md"] if readme else [])]


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page`` with the marks written just before them."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    marks: dict[str, str] = {}
    i = 0
    while i < len(lines):
        mark = _MARK.match(lines[i])
        fence = _FENCE.match(lines[i])
        if mark:
            kind, value = mark.groups()
            if kind == "graph":
                marks["graph"] = value
            else:
                word, _, rest = value.partition(" ")
                word = word.rstrip(":")
                marks[word] = rest.strip()
        elif fence:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            body = [_include(line) for line in lines[i + 1:end]]
            found.append(Block(page, i + 1, fence.group(1) or "text", "\n".join(body) + "\n",
                               marks))
            marks = {}
            i = end
        elif lines[i].strip():
            marks = {}
        i += 1
    return found


def _include(line: str) -> str:
    """Resolve a ``--8<-- "path"`` snippet line as MkDocs does."""
    match = _SNIPPET.match(line)
    return (ROOT / match.group(1)).read_text(encoding="utf-8").rstrip("\n") if match else line


def commands(block: Block) -> Iterator[tuple[dict[str, str], list[str]]]:
    """(environment, argv) for each command line of a bash block."""
    for raw in block.text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line, comments=True)
        env: dict[str, str] = {}
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        assert words[:1] == ["medallion"], (
            f"{block.where}: '{line}' is not a medallion command; mark the block "
            "<!-- docs-test: skip: REASON --> if it cannot run in a test")
        yield env, words[1:]


def is_spark_block(block: Block) -> bool:
    """Whether the block needs Spark (it then runs in the Spark test only)."""
    if block.lang == "python":
        return "spark" in block.marks
    if block.lang == "bash":
        return any(argv and argv[0] in SPARK_COMMANDS for _, argv in commands(block))
    return False


def prepare(page: Path, folder: Path) -> list[Block]:
    """Lay out the page's scratch folder; return the blocks to run (skips checked)."""
    (folder / "examples").symlink_to(ROOT / "examples")
    todo = []
    for block in blocks(page):
        if "skip" in block.marks:
            assert block.marks["skip"], f"{block.where}: a skipped example needs a reason"
            continue
        if "file" in block.marks:
            (folder / block.marks["file"]).write_text(block.text, encoding="utf-8")
            continue
        todo.append(block)
    return todo


def run_block(block: Block, namespace: dict[str, Any], folder: Path,
              main: Callable[[list[str]], int], output: Callable[[], str]) -> None:
    """Run one block that needs no Spark (see the module docstring)."""
    from medallion.diagram import diagram_of
    from medallion.diagram.mermaid import to_mermaid
    from medallion.files.document import read_pipeline_file
    from medallion.loader import load_pipeline

    if block.lang == "python":
        exec(compile(block.text, block.where, "exec"), namespace)
    elif block.lang == "yaml":
        data = yaml.safe_load(block.text)
        if isinstance(data, dict) and ("tables" in data or "libraries" in data):
            path = folder / f"block-{block.line}.yaml"
            path.write_text(block.text, encoding="utf-8")
            if "fragment" in block.marks:
                read_pipeline_file(path, fallback=lambda key: "1")
            else:
                load_pipeline(path).validate()
    elif block.lang == "json":
        json.loads(block.text)
    elif block.lang == "bash":
        for env, argv in commands(block):
            saved = {key: os.environ.get(key) for key in env}
            os.environ.update(env)  # for this command only, as the shell does
            try:
                assert main(argv) == 0, f"{block.where}: medallion {' '.join(argv)} failed"
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
    elif block.lang == "console":
        _console(block, main, output)
    elif block.lang == "mermaid" and "drawing" in block.marks:
        _drawing(block)
    elif block.lang == "mermaid":
        assert "graph" in block.marks, f"{block.where}: say which pipeline it draws"
        expected = to_mermaid(diagram_of(load_pipeline(ROOT / block.marks["graph"])))
        assert block.text.rstrip("\n") == expected, f"{block.where}: run medallion graph"


_NODE = re.compile(r"^\s*(?:subgraph\s+)?([A-Za-z_][\w]*)\s*[\[(]")


def _drawing(block: Block) -> None:
    """A hand-drawn flowchart: a ``flowchart`` header, and arrows between declared nodes."""
    lines = block.text.strip().splitlines()
    assert lines[0].startswith("flowchart "), f"{block.where}: a drawing is a flowchart"
    nodes = {m.group(1) for line in lines if (m := _NODE.match(line))}
    for line in lines[1:]:
        if "->" not in line:
            continue
        chain = re.split(r"\s*(?:-->|-\.\s*\"[^\"]*\"\s*\.->)\s*", line.strip())
        unknown = [name for name in chain if name not in nodes]
        assert not unknown, f"{block.where}: arrow to undeclared node(s) {unknown}: {line!r}"


def _console(block: Block, main: Callable[[list[str]], int], output: Callable[[], str]) -> None:
    sessions: list[tuple[str, list[str]]] = []
    for line in block.text.rstrip("\n").splitlines():
        if line.startswith("$ "):
            sessions.append((line[2:], []))
        else:
            sessions[-1][1].append(line)
    for command, expected in sessions:
        words = shlex.split(command)
        assert words[0] == "medallion", f"{block.where}: only medallion commands run"
        output()  # drop what came before
        main(words[1:])
        actual = output().rstrip("\n").splitlines()
        assert actual == expected, f"{block.where}: {command} printed:\n" + "\n".join(actual)
