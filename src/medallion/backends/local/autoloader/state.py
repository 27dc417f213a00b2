"""The persisted schema of a bronze table and the record of its changes.

``<warehouse>/_system/schemas/<schema>/<table>/schema.json`` holds the schema in effect (Spark's
JSON form of a ``StructType``), ``changes.json`` every evolution: which columns were added, by
which micro-batch, from which files. Both are replaced atomically, so a crash leaves the old or
the new version, never half a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medallion.backends.local.result import SchemaChange
from medallion.backends.local.warehouse import write_json_atomic

if TYPE_CHECKING:
    from pyspark.sql.types import StructType


class SchemaState:
    """The schema folder of one bronze table."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def schema_file(self) -> Path:
        """Where the schema in effect is kept."""
        return self.folder / "schema.json"

    @property
    def changes_file(self) -> Path:
        """Where the schema changes are recorded."""
        return self.folder / "changes.json"

    def load(self) -> StructType | None:
        """The persisted schema, None before the first inference."""
        from pyspark.sql.types import StructType

        try:
            data = json.loads(self.schema_file.read_text())
        except FileNotFoundError:
            return None
        return StructType.fromJson(data)

    def save(self, schema: StructType) -> None:
        """Persist ``schema`` as the schema in effect."""
        write_json_atomic(self.schema_file, schema.jsonValue())

    def changes(self) -> list[SchemaChange]:
        """Every recorded change, oldest first."""
        try:
            data: list[dict[str, Any]] = json.loads(self.changes_file.read_text())
        except FileNotFoundError:
            return []
        return [SchemaChange.from_json(item) for item in data]

    def record(self, change: SchemaChange) -> None:
        """Append ``change`` (a replayed micro-batch does not record its change twice)."""
        changes = self.changes()
        if any(c.batch_id == change.batch_id and c.added == change.added for c in changes):
            return
        changes.append(change)
        write_json_atomic(self.changes_file, [c.to_json() for c in changes])
