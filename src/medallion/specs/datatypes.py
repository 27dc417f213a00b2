"""Spark SQL data types (``"decimal(10,2)"``, ``"array<struct<a: int>>"``), checked without Spark.

The grammar is Spark's ``dataType`` rule (``SqlBaseParser.g4``, built by ``DataTypeAstBuilder``):
primitive names and the aliases Spark's parser accepts, ``decimal(p,s)`` with 1 ≤ p ≤ 38 and
0 ≤ s ≤ p, ``char(n)``/``varchar(n)``, ``string collate NAME``, ``array<T>``, ``map<K, V>``,
``struct<name: T [NOT NULL] [COMMENT '...'], ...>`` nested to any depth, and the interval types.
``tests/spark/test_datatypes_spark.py`` checks the verdicts against a real Spark parse.

Example:
    >>> parse_data_type("ARRAY<struct<id: BIGINT, amount: decimal(10, 2)>>")
    'array<struct<id:bigint,amount:decimal(10,2)>>'
    >>> parse_data_type("decimall(10,2)")
    Traceback (most recent call last):
    ...
    medallion.specs.datatypes.DataTypeError: unknown type 'decimall'; did you mean 'decimal'?
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

__all__ = ["TYPE_NAMES", "DataTypeError", "check_type", "parse_data_type"]

#: Spark's primitive type names and aliases → the canonical name.
_PRIMITIVES: dict[str, str] = {
    "boolean": "boolean",
    "tinyint": "tinyint", "byte": "tinyint",
    "smallint": "smallint", "short": "smallint",
    "int": "int", "integer": "int",
    "bigint": "bigint", "long": "bigint",
    "float": "float", "real": "float",
    "double": "double",
    "date": "date",
    "timestamp": "timestamp", "timestamp_ltz": "timestamp", "timestamp_ntz": "timestamp_ntz",
    "string": "string",
    "binary": "binary",
    "void": "void",
    "variant": "variant",
}
_DECIMALS = ("decimal", "dec", "numeric")
_CHARS = {"char": "char", "character": "char", "varchar": "varchar"}
_COMPLEX = ("array", "map", "struct")
_YEAR_MONTH = ("year", "month")
_DAY_TIME = ("day", "hour", "minute", "second")
MAX_DECIMAL_PRECISION = 38

#: Every name a data type can start with (for "did you mean").
TYPE_NAMES: tuple[str, ...] = (
    *_PRIMITIVES, *_DECIMALS, *_CHARS, *_COMPLEX, "interval"
)

_TOKEN = re.compile(
    r"\s*(?:(?P<ident>[A-Za-z0-9_]+)|(?P<qident>`(?:[^`]|``)*`)"
    r"|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<op>[<>(),:]))"
)


class DataTypeError(ValueError):
    """The text is not a Spark SQL data type; the message says which part and why."""


@dataclass(frozen=True)
class _Tok:
    kind: str  # ident, qident, string, op, end
    text: str

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "ident" else ""


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            bad = text[pos:].strip()[:1] or text[pos:pos + 1]
            raise DataTypeError(f"unexpected {bad!r}")
        tokens.append(_Tok(match.lastgroup, match.group(match.lastgroup)))
        pos = match.end()
    tokens.append(_Tok("end", ""))
    return tokens


def parse_data_type(text: str) -> str:
    """Parse one Spark SQL data type; return it in Spark's canonical lower-case spelling.

    Raises :class:`DataTypeError` naming the bad part (with a "did you mean" for unknown names).

    Example:
        >>> parse_data_type("map<STRING, Long>")
        'map<string,bigint>'
        >>> parse_data_type("interval day to second")
        'interval day to second'
    """
    if not isinstance(text, str) or not text.strip():
        raise DataTypeError("the type is empty; e.g. 'string', 'bigint', 'decimal(10,2)'")
    parser = _Parser(_tokenize(text))
    result = parser.data_type()
    if parser.tok.kind != "end":
        raise DataTypeError(f"unexpected {parser.tok.text!r} after {result!r}")
    return result


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.pos = 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.pos]

    def advance(self) -> _Tok:
        tok = self.tok
        if tok.kind != "end":
            self.pos += 1
        return tok

    def at(self, op: str) -> bool:
        return self.tok.kind == "op" and self.tok.text == op

    def expect(self, op: str, context: str) -> None:
        if not self.at(op):
            found = repr(self.tok.text) if self.tok.kind != "end" else "the end"
            raise DataTypeError(f"{context}: expected {op!r}, found {found}")
        self.advance()

    def data_type(self) -> str:
        tok = self.tok
        if tok.kind != "ident":
            found = repr(tok.text) if tok.kind != "end" else "nothing"
            raise DataTypeError(f"expected a type name, found {found}")
        word = tok.word
        self.advance()
        if word == "array":
            self.expect("<", "array needs its element type, e.g. array<string>")
            element = self.data_type()
            self.expect(">", "array takes one element type, e.g. array<string>")
            return f"array<{element}>"
        if word == "map":
            self.expect("<", "map needs key and value types, e.g. map<string, int>")
            key = self.data_type()
            self.expect(",", "map needs key and value types, e.g. map<string, int>")
            value = self.data_type()
            self.expect(">", "map takes two types, e.g. map<string, int>")
            return f"map<{key},{value}>"
        if word == "struct":
            return self.struct()
        if word == "interval":
            return self.interval()
        params = self.parameters(word)
        if word in _DECIMALS:
            return _decimal(word, params)
        if word in _CHARS:
            if len(params) != 1:
                raise DataTypeError(
                    f"{word} needs one length, e.g. {word}(255); or use string"
                )
            return f"{_CHARS[word]}({params[0]})"
        if word in _PRIMITIVES:
            if params:
                raise DataTypeError(f"{word} takes no parameters; write {word}")
            if word == "string" and self.tok.word == "collate":
                self.advance()
                if self.tok.kind not in ("ident", "qident"):
                    raise DataTypeError("string collate needs a collation name, e.g. UTF8_LCASE")
                return f"string collate {self.advance().text}"
            return _PRIMITIVES[word]
        close = difflib.get_close_matches(word, TYPE_NAMES, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else (
            "; e.g. 'string', 'bigint', 'double', 'decimal(10,2)', 'date', 'timestamp'"
        )
        raise DataTypeError(f"unknown type {tok.text!r}{hint}")

    def parameters(self, word: str) -> list[int]:
        if not self.at("("):
            return []
        self.advance()
        values: list[int] = []
        while True:
            tok = self.advance()
            if tok.kind != "ident" or not tok.text.isdigit():
                found = repr(tok.text) if tok.kind != "end" else "the end"
                raise DataTypeError(
                    f"{word}(...) takes whole numbers, found {found}"
                )
            values.append(int(tok.text))
            if self.at(","):
                self.advance()
                continue
            self.expect(")", f"{word}(...)")
            return values

    def struct(self) -> str:
        self.expect("<", "struct needs its fields, e.g. struct<id: bigint, name: string>")
        fields: list[str] = []
        while not self.at(">"):
            if fields:
                self.expect(",", "struct fields are separated by commas")
            name_tok = self.advance()
            if name_tok.kind == "ident" or name_tok.kind == "qident":
                name = name_tok.text
            else:
                found = repr(name_tok.text) if name_tok.kind != "end" else "the end"
                raise DataTypeError(
                    f"struct: expected a field name, found {found}; e.g. struct<id: bigint>"
                )
            if self.at(":"):
                self.advance()
            try:
                field_type = self.data_type()
            except DataTypeError as exc:
                raise DataTypeError(f"struct field {name}: {exc}") from None
            if self.tok.word == "not":
                self.advance()
                if self.tok.word != "null":
                    raise DataTypeError(f"struct field {name}: NOT must be followed by NULL")
                self.advance()
                field_type += " not null"
            if self.tok.word == "comment":
                self.advance()
                if self.tok.kind != "string":
                    raise DataTypeError(f"struct field {name}: COMMENT needs a quoted text")
                self.advance()
            fields.append(f"{name}:{field_type}")
        self.advance()
        return "struct<" + ",".join(fields) + ">"

    def interval(self) -> str:
        start = self.tok.word
        if start not in (*_YEAR_MONTH, *_DAY_TIME):
            return "interval"
        self.advance()
        if self.tok.word != "to":
            return f"interval {start}"
        self.advance()
        end = self.tok.word
        units = _YEAR_MONTH if start in _YEAR_MONTH else _DAY_TIME
        if end not in units or units.index(end) <= units.index(start):
            later = units[units.index(start) + 1 :]
            allowed = " or ".join(later) if later else f"nothing (write interval {start})"
            found = repr(self.tok.text) if self.tok.kind != "end" else "nothing"
            raise DataTypeError(
                f"interval {start} to ...: the end unit must be {allowed}, found {found}"
            )
        self.advance()
        return f"interval {start} to {end}"


def _decimal(word: str, params: list[int]) -> str:
    if len(params) > 2:
        raise DataTypeError(f"{word} takes at most (precision, scale), e.g. decimal(10,2)")
    precision = params[0] if params else 10
    scale = params[1] if len(params) > 1 else 0
    if not 1 <= precision <= MAX_DECIMAL_PRECISION:
        raise DataTypeError(
            f"decimal precision {precision} is out of range: it must be 1 to "
            f"{MAX_DECIMAL_PRECISION}"
        )
    if scale > precision:
        raise DataTypeError(
            f"decimal scale {scale} is larger than its precision {precision}; the scale "
            f"(digits after the point) must be 0 to {precision}"
        )
    return f"decimal({precision},{scale})"


def check_type(type_text: str, what: str) -> str:
    """Raise ValueError, naming ``what`` and the bad type, unless ``type_text`` is a data type.

    Example:
        >>> check_type("decimal(39,2)", "cast of column 'amount'")
        Traceback (most recent call last):
        ...
        medallion.specs.datatypes.DataTypeError: cast of column 'amount': 'decimal(39,2)' is \
not a Spark SQL data type: decimal precision 39 is out of range: it must be 1 to 38
    """
    try:
        parse_data_type(type_text)
    except DataTypeError as exc:
        raise DataTypeError(
            f"{what}: {type_text!r} is not a Spark SQL data type: {exc}"
        ) from None
    return type_text
