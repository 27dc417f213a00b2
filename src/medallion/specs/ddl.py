"""Column lists in Spark DDL (``"order_id BIGINT, amount DECIMAL(10,2)"``), checked without Spark.

Used for bronze ``schema`` and ``schema_hints`` so a typo is reported at declaration, naming the
column, instead of as a Spark parse error at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medallion.specs.datatypes import check_type
from medallion.specs.sqlexpr import quote_identifier

_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRAILING = re.compile(r"\s+(NOT\s+NULL|COMMENT\s+'(?:[^'\\]|\\.)*')\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class DdlColumn:
    """One ``name TYPE`` item of a DDL column list."""

    name: str
    type: str

    def ddl(self) -> str:
        """The item as DDL, the name quoted with backticks."""
        return f"{quote_identifier(self.name)} {self.type}"


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split on ``separator`` outside brackets, quotes and backticks."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if quote is not None:
            current.append(ch)
            if ch == "\\" and quote != "`" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
            current.append(ch)
        elif ch in "(<":
            depth += 1
            current.append(ch)
        elif ch in ")>":
            depth -= 1
            current.append(ch)
        elif ch == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if quote is not None or depth != 0:
        raise ValueError(f"unbalanced brackets or quotes in {text!r}")
    parts.append("".join(current))
    return parts


def parse_columns(text: str, what: str = "schema") -> list[DdlColumn]:
    """Parse a DDL column list; raise ValueError naming the bad item.

    Example:
        >>> [(c.name, c.type) for c in parse_columns("id BIGINT, `order date` DATE")]
        [('id', 'BIGINT'), ('order date', 'DATE')]
    """
    columns: list[DdlColumn] = []
    seen: dict[str, str] = {}
    try:
        items = split_top_level(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} has unbalanced brackets or quotes") from None
    for raw in items:
        item = raw.strip()
        if not item:
            raise ValueError(f"{what} {text!r} has an empty item; separate columns with one comma")
        while True:
            trimmed = _TRAILING.sub("", item)
            if trimmed == item:
                break
            item = trimmed
        name, rest = _split_name(item, what)
        if "." in name and not item.startswith("`"):
            raise ValueError(
                f"{what} item {raw.strip()!r}: nested fields cannot be given here; give the "
                "top-level column with its full type (e.g. 'address STRUCT<city: STRING>')"
            )
        if not rest:
            raise ValueError(f"{what} item {raw.strip()!r} has no type; write 'name TYPE'")
        check_type(rest, f"{what} column {name!r}")
        key = name.lower()
        if key in seen:
            raise ValueError(
                f"{what} names column {name!r} twice (as {seen[key]!r} and {name!r}; column "
                "names are case-insensitive)"
            )
        seen[key] = name
        columns.append(DdlColumn(name, rest))
    return columns


def _split_name(item: str, what: str) -> tuple[str, str]:
    if item.startswith("`"):
        end = 1
        name_chars: list[str] = []
        while end < len(item):
            if item[end] == "`":
                if end + 1 < len(item) and item[end + 1] == "`":
                    name_chars.append("`")
                    end += 2
                    continue
                break
            name_chars.append(item[end])
            end += 1
        else:
            raise ValueError(f"{what} item {item!r}: unterminated backtick")
        return "".join(name_chars), item[end + 1 :].strip()
    name, _, rest = item.partition(" ")
    name = name.strip()
    if not _PLAIN_NAME.match(name.replace(".", "_")):
        raise ValueError(
            f"{what} item {item!r}: {name!r} is not a column name; quote unusual names with "
            "backticks (`my col`)"
        )
    return name, rest.strip()


def columns_ddl(columns: list[DdlColumn]) -> str:
    """Join columns back into one DDL string."""
    return ", ".join(c.ddl() for c in columns)
