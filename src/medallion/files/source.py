"""Read a YAML or JSON pipeline file into plain data, remembering the line of every value.

Errors found later (a misspelt field, a bad rule condition) are reported at ``file:line``, so
the parser keeps, for each path into the document (``("tables", 2, "rules", 0)``), the line
where that entry starts.

YAML is read with YAML 1.2 rules for booleans and without timestamps: only ``true``/``false``
are booleans (in YAML 1.1 ``on``, ``no`` and ``yes`` are too, which would turn a join's ``on:``
key into ``True`` and the region code ``NO`` into ``False``), and dates stay strings.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medallion.errors import PipelineFileError

Path_ = tuple[str | int, ...]

#: File name endings read as pipeline files (everything else is Python).
FILE_SUFFIXES = (".yaml", ".yml", ".json")


def is_pipeline_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a YAML/JSON pipeline file (by its ending)."""
    return Path(path).suffix.lower() in FILE_SUFFIXES


@dataclass
class Positions:
    """Line numbers (1-based) of the entries of a parsed document, by path."""

    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Sequence[str | int]) -> int | None:
        """Line of ``path``, or of its nearest enclosing entry that exists in the file."""
        current = tuple(path)
        while True:
            if current in self.lines:
                return self.lines[current]
            if not current:
                return None
            current = current[:-1]


@dataclass(frozen=True)
class SourceDocument:
    """A parsed file: its data and where each value came from."""

    path: Path
    data: Any
    positions: Positions

    def where(self, path: Sequence[str | int]) -> str:
        """``pipeline.yaml:12`` for the entry at ``path`` (``pipeline.yaml`` without a line)."""
        line = self.positions.line(path)
        return f"{self.path}:{line}" if line is not None else str(self.path)


def read_source(path: str | Path) -> SourceDocument:
    """Parse a YAML or JSON file.

    Raises:
        PipelineFileError: the file is missing, is not valid YAML/JSON, or repeats a key.
    """
    file = Path(path)
    if not file.is_file():
        raise PipelineFileError(f"pipeline file '{file}' does not exist", file=str(file))
    text = file.read_text(encoding="utf-8")
    if file.suffix.lower() == ".json":
        return _read_json(file, text)
    return _read_yaml(file, text)


def _read_json(file: Path, text: str) -> SourceDocument:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PipelineFileError(
            f"{file}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})",
            file=str(file), line=exc.lineno,
        ) from None
    # JSON is (nearly) YAML: reuse the YAML composer for line numbers when it can read the text.
    try:
        positions = _read_yaml(file, text).positions
    except PipelineFileError:
        positions = Positions()
    return SourceDocument(file, data, positions)


@functools.lru_cache(maxsize=1)
def _loader_class() -> Any:
    import yaml

    # libyaml's parser when PyYAML was built with it (several times faster); the resolver and
    # constructor stay Python's, so the rules below apply either way.
    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc]
        """SafeLoader with YAML 1.2 booleans and no timestamp conversion."""

    resolvers = {
        first: [(tag, regexp) for tag, regexp in entries
                if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.yaml_implicit_resolvers = resolvers
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    return Loader


def _read_yaml(file: Path, text: str) -> SourceDocument:
    import yaml

    loader = _loader_class()(text)
    try:
        node = loader.get_single_node()
        positions = Positions()
        if node is not None:
            _walk(file, node, (), positions)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        where = f"{file}:{line}" if line is not None else str(file)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise PipelineFileError(f"{where}: not valid YAML: {problem}", file=str(file),
                                line=line) from None
    except yaml.YAMLError as exc:
        raise PipelineFileError(f"{file}: not valid YAML: {exc}", file=str(file)) from None
    finally:
        loader.dispose()
    return SourceDocument(file, data, positions)


def _walk(file: Path, node: Any, path: Path_, positions: Positions) -> None:
    import yaml

    positions.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is not None and key in seen:
                raise PipelineFileError(
                    f"{file}:{line}: key '{key}' appears twice in the same mapping (first at "
                    f"line {seen[key]}); keep one", file=str(file), line=line,
                )
            if key is None:
                continue
            seen[key] = line
            entry = (*path, key)
            positions.lines[entry] = line
            _walk(file, value_node, entry, positions)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(file, item, (*path, index), positions)


def dotted(path: Sequence[str | int]) -> str:
    """``tables[2].rules[0].condition`` for a path into the document."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def as_mapping(value: Any) -> Mapping[str, Any] | None:
    """``value`` when it is a mapping with string keys, else None."""
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return value
    return None
