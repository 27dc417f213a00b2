"""A small, dependency-free parser for Spark SQL expressions.

Rule conditions, filters and derived columns are SQL text. medallion checks them when they are
declared, long before a SparkSession exists: a condition must be ONE expression (not a statement,
not two statements), must not contain a subquery, and a rule condition must be boolean. The parser
below understands the expression grammar of Spark SQL well enough to tell these apart; when it meets
a construct whose type it cannot know (a column, an unknown function) it accepts it, and the local
runner checks the real type against the input schema before writing anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "Node",
    "SqlSyntaxError",
    "boolean_verdict",
    "check_boolean",
    "check_expression",
    "column_references",
    "parse",
    "quote_identifier",
    "split_alias",
    "tokenize",
]


_INTERVAL_WORDS = ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "TO")


def quote_identifier(name: str) -> str:
    """``name`` as one backtick-quoted Spark SQL identifier (embedded backticks doubled).

    The one place medallion quotes a column or table name for SQL text or ``F.col``.

    Example:
        >>> quote_identifier("order id"), quote_identifier("a`b")
        ('`order id`', '`a``b`')
    """
    return "`" + name.replace("`", "``") + "`"


class SqlSyntaxError(ValueError):
    """The text is not one valid SQL expression; the message says where and why."""


@dataclass(frozen=True)
class Token:
    kind: str  # ident, qident, string, number, op, kw, eof
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass
class Node:
    """A parsed expression. ``kind`` is one of the names in ``_KINDS`` below."""

    kind: str
    text: str = ""
    children: list[Node] = field(default_factory=list)

    def walk(self) -> list[Node]:
        """This node and every node below it, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


_OPERATORS = sorted(
    ["<=>", "<=", ">=", "<>", "!=", "==", "=", "<", ">", "||", "|", "&&", "&", "^", "~", "+",
     "-", "*", "/", "%", "!", "::", "->", ".", ",", "(", ")", "[", "]", ":", ";", "?", "<<", ">>",
     "{", "}"],
    key=len,
    reverse=True,
)
_NUMBER = re.compile(
    r"(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)(?:BD|bd|[LlSsYyDdFf])?(?![A-Za-z_0-9])"
)
_IDENT = re.compile(r"[^\W\d]\w*", re.UNICODE)
_STATEMENT_WORDS = {
    "SELECT", "INSERT", "UPDATE", "DELETE", "DROP", "CREATE", "ALTER", "MERGE", "TRUNCATE",
    "WITH", "FROM", "VALUES", "TABLE", "GRANT", "REVOKE", "USE", "SET", "SHOW", "DESCRIBE",
}
_TYPED_LITERALS = {"DATE", "TIMESTAMP", "TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "INTERVAL", "X", "TIME"}
_COMPARISONS = {"=", "==", "<>", "!=", "<", "<=", ">", ">=", "<=>"}

# Functions whose result is BOOLEAN whatever their arguments.
BOOLEAN_FUNCTIONS = frozenset(
    """
    isnull isnotnull isnan array_contains arrays_overlap exists forall startswith endswith
    contains like ilike rlike regexp regexp_like equal_null in between map_contains_key
    is_valid_utf8 bool_and bool_or every some any boolean try_validate_utf8_is_null
    is_variant_null st_contains st_intersects
    """.split()
)
# Functions whose result is never BOOLEAN (a non-exhaustive list of the common ones).
NON_BOOLEAN_FUNCTIONS = frozenset(
    """
    abs acos asin atan avg cbrt ceil ceiling char_length character_length coalesce_num
    concat concat_ws cos count current_date current_timestamp date_add date_sub date_format
    datediff day dayofmonth dayofweek dayofyear exp floor format_number from_unixtime hour
    initcap instr lcase left length levenshtein ln locate log log10 log2 lower lpad ltrim
    max md5 min minute month months_between now pow power quarter rand randn regexp_extract
    regexp_replace repeat replace reverse right round rpad rtrim second sha1 sha2 sign
    signum sin size sqrt substr substring sum tan to_date to_json to_timestamp trim
    try_to_timestamp ucase unix_timestamp upper uuid week weekofyear year date_trunc trunc
    split array map struct named_struct element_at explode posexplode cast try_cast hash
    xxhash64 crc32 base64 unbase64 hex unhex ascii char chr translate soundex sentences
    current_user monotonically_increasing_id spark_partition_id input_file_name percentile
    approx_percentile stddev variance first last collect_list collect_set count_distinct
    approx_count_distinct
    """.split()
)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raise :class:`SqlSyntaxError` on an unterminated literal."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise SqlSyntaxError(f"unterminated comment starting at position {i}")
            i = end + 2
            continue
        if ch in "'\"":
            j = i + 1
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:  # doubled quote inside the literal
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                raise SqlSyntaxError(f"unterminated string literal starting at position {i}")
            tokens.append(Token("string", text[i : j + 1], i))
            i = j + 1
            continue
        if ch == "`":
            j = i + 1
            while j < n:
                if text[j] == "`":
                    if j + 1 < n and text[j + 1] == "`":
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                raise SqlSyntaxError(f"unterminated `quoted identifier` starting at position {i}")
            tokens.append(Token("qident", text[i : j + 1], i))
            i = j + 1
            continue
        m = _NUMBER.match(text, i)
        if m and (ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit())):
            tokens.append(Token("number", m.group(0), i))
            i = m.end()
            continue
        m = _IDENT.match(text, i)
        if m:
            tokens.append(Token("ident", m.group(0), i))
            i = m.end()
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(Token("op", op, i))
                i += len(op)
                break
        else:
            raise SqlSyntaxError(f"unexpected character {ch!r} at position {i}")
    tokens.append(Token("eof", "", n))
    return tokens


class _Parser:
    """Recursive-descent parser following the precedence of Spark's SqlBaseParser."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def at_word(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.upper in words

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def _next_is_open_paren(self) -> bool:
        nxt = self.peek()
        return nxt.kind == "op" and nxt.text == "("

    def advance(self) -> Token:
        t = self.tok
        self.i += 1
        return t

    def expect_op(self, op: str) -> None:
        if not self.at_op(op):
            self.fail(f"expected '{op}'")
        self.advance()

    def expect_word(self, word: str) -> None:
        if not self.at_word(word):
            self.fail(f"expected {word}")
        self.advance()

    def fail(self, why: str) -> None:
        t = self.tok
        where = "at the end" if t.kind == "eof" else f"at '{t.text}' (position {t.pos})"
        raise SqlSyntaxError(f"{why} {where}")

    # -- grammar -------------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise SqlSyntaxError("the expression is empty")
        node = self.expression()
        if self.at_op(";"):
            raise SqlSyntaxError(
                "';' ends a statement: give one expression, not one or more statements"
            )
        if self.tok.kind != "eof":
            if self.at_word(*_STATEMENT_WORDS):
                self.fail("found a SQL statement keyword; give one expression, not a query")
            self.fail("unexpected text after a complete expression")
        return node

    def expression(self) -> Node:
        return self.or_expr()

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.at_word("OR"):
            self.advance()
            node = Node("logical", "OR", [node, self.and_expr()])
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.at_word("AND") or self.at_op("&&"):
            self.advance()
            node = Node("logical", "AND", [node, self.not_expr()])
        return node

    def not_expr(self) -> Node:
        if self.at_word("NOT") or self.at_op("!"):
            self.advance()
            return Node("logical", "NOT", [self.not_expr()])
        if (
            self.at_word("EXISTS")
            and self.peek().kind == "op"
            and self.peek().text == "("
            and self.peek(2).kind == "ident"
            and self.peek(2).upper in ("SELECT", "WITH")
        ):
            raise SqlSyntaxError("EXISTS (subquery) is a subquery; conditions are per row")
        return self.predicate()

    def predicate(self) -> Node:
        node = self.comparison()
        while True:
            negated = False
            if self.at_word("NOT") and self.peek().kind == "ident" and self.peek().upper in (
                "IN", "BETWEEN", "LIKE", "ILIKE", "RLIKE", "REGEXP",
            ):
                self.advance()
                negated = True
            if self.at_word("IS"):
                self.advance()
                if self.at_word("NOT"):
                    self.advance()
                if self.at_word("NULL", "TRUE", "FALSE", "UNKNOWN"):
                    self.advance()
                elif self.at_word("DISTINCT"):
                    self.advance()
                    self.expect_word("FROM")
                    node = Node("predicate", "IS", [node, self.comparison()])
                    continue
                else:
                    self.fail("expected NULL, TRUE, FALSE, UNKNOWN or DISTINCT FROM after IS")
                node = Node("predicate", "IS", [node])
            elif self.at_word("BETWEEN"):
                self.advance()
                low = self.comparison()
                self.expect_word("AND")
                high = self.comparison()
                node = Node("predicate", "BETWEEN", [node, low, high])
            elif self.at_word("IN"):
                self.advance()
                self.expect_op("(")
                if self.at_word("SELECT", "WITH"):
                    raise SqlSyntaxError("IN (subquery) is a subquery; list the values instead")
                items = [self.expression()]
                while self.at_op(","):
                    self.advance()
                    items.append(self.expression())
                self.expect_op(")")
                node = Node("predicate", "IN", [node, *items])
            elif self.at_word("LIKE", "ILIKE", "RLIKE", "REGEXP"):
                word = self.advance().upper
                if self.at_word("ANY", "SOME", "ALL"):
                    self.advance()
                    self.expect_op("(")
                    items = [self.expression()]
                    while self.at_op(","):
                        self.advance()
                        items.append(self.expression())
                    self.expect_op(")")
                    node = Node("predicate", word, [node, *items])
                else:
                    pattern = self.comparison()
                    if self.at_word("ESCAPE"):
                        self.advance()
                        if self.tok.kind != "string":
                            self.fail("expected a string after ESCAPE")
                        self.advance()
                    node = Node("predicate", word, [node, pattern])
            else:
                if negated:
                    self.fail("expected IN, BETWEEN or LIKE after NOT")
                return node
            if negated:
                node = Node("logical", "NOT", [node])

    def comparison(self) -> Node:
        node = self.bit_or()
        while self.tok.kind == "op" and self.tok.text in _COMPARISONS:
            op = self.advance().text
            node = Node("comparison", op, [node, self.bit_or()])
        return node

    def _binary(self, ops: tuple[str, ...], words: tuple[str, ...], nxt: str) -> Node:
        sub = getattr(self, nxt)
        node: Node = sub()
        while self.at_op(*ops) or (words and self.at_word(*words)):
            op = self.advance().text
            node = Node("arith", op, [node, sub()])
        return node

    def bit_or(self) -> Node:
        return self._binary(("|",), (), "bit_xor")

    def bit_xor(self) -> Node:
        return self._binary(("^",), (), "bit_and")

    def bit_and(self) -> Node:
        return self._binary(("&",), (), "shift")

    def shift(self) -> Node:
        return self._binary(("<<", ">>"), (), "additive")

    def additive(self) -> Node:
        return self._binary(("+", "-", "||"), (), "multiplicative")

    def multiplicative(self) -> Node:
        return self._binary(("*", "/", "%"), ("DIV",), "unary")

    def unary(self) -> Node:
        if self.at_op("-", "+", "~"):
            op = self.advance().text
            return Node("arith", op, [self.unary()])
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.at_op("."):
                self.advance()
                if self.tok.kind in ("ident", "qident"):
                    name = self.advance().text
                    if self.at_op("("):  # qualified function call: schema.fn(...)
                        node = self.call(f"{node.text}.{name}")
                    else:
                        node = Node("column", f"{node.text}.{name}", [node])
                elif self.at_op("*"):
                    self.advance()
                    node = Node("star", f"{node.text}.*")
                else:
                    self.fail("expected a field name after '.'")
            elif self.at_op("["):
                self.advance()
                index = self.expression()
                self.expect_op("]")
                node = Node("subscript", "[]", [node, index])
            elif self.at_op("::"):
                self.advance()
                type_text = self.data_type()
                node = Node("cast", type_text, [node])
            elif self.at_op(":") and node.kind in ("column", "subscript", "variant"):
                self.advance()  # variant path access  col:field.sub
                if self.tok.kind not in ("ident", "qident"):
                    self.fail("expected a field name after ':'")
                node = Node("variant", self.advance().text, [node])
            else:
                return node

    def data_type(self) -> str:
        start = self.tok.pos
        if self.tok.kind not in ("ident", "qident"):
            self.fail("expected a data type")
        self.advance()
        depth = 0
        while True:
            if self.at_op("(", "<"):
                depth += 1
            elif self.at_op(")", ">") and depth > 0:
                depth -= 1
            elif depth == 0:
                break
            elif self.tok.kind == "eof":
                self.fail("unterminated data type")
            self.advance()
            if depth == 0 and not self.at_op("(", "<"):
                break
        first = self.text[start:].split(None, 1)[0].upper()
        words = _INTERVAL_WORDS if first == "INTERVAL" else ("COLLATE",)
        while self.tok.kind in ("ident", "kw") and self.tok.upper in words:
            collate = self.tok.upper == "COLLATE"
            self.advance()
            if collate and self.tok.kind in ("ident", "qident", "kw"):
                self.advance()
        end = self.tok.pos if self.tok.kind != "eof" else len(self.text)
        type_text = self.text[start:end].strip()
        # (imported here: medallion.specs imports this module)
        from medallion.specs.datatypes import DataTypeError, parse_data_type

        try:
            parse_data_type(type_text)
        except DataTypeError as exc:
            self.fail(f"{type_text!r} is not a Spark SQL data type ({exc})")
        return type_text

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "number":
            self.advance()
            return Node("literal", "number")
        if t.kind == "string":
            self.advance()
            while self.tok.kind == "string":  # adjacent literals concatenate
                self.advance()
            return Node("literal", "string")
        if t.kind == "qident":
            self.advance()
            return self.after_name(Node("column", t.text))
        if t.kind == "op":
            if t.text == "(":
                self.advance()
                if self.at_word(*_STATEMENT_WORDS - {"SET", "TABLE", "USE"}):
                    raise SqlSyntaxError(
                        "a subquery is not allowed in a per-row expression "
                        f"(found '{self.tok.text}' at position {self.tok.pos})"
                    )
                inner = self.expression()
                items = [inner]
                while self.at_op(","):
                    self.advance()
                    items.append(self.expression())
                self.expect_op(")")
                if self.at_op("->"):  # (x, y) -> lambda body; text: the parameter names
                    self.advance()
                    names = ",".join(i.text for i in items if i.kind == "column")
                    return Node("lambda", names, [self.expression()])
                if len(items) > 1:
                    return Node("row", "()", items)
                return Node("paren", "()", [inner])
            if t.text == "*":
                self.advance()
                return Node("star", "*")
            if t.text == "?":
                self.advance()
                return Node("param", "?")
            if t.text == ":" and self.peek().kind == "ident":
                self.advance()
                self.advance()
                return Node("param", ":")
            self.fail("expected a value, column or function")
        if t.kind == "ident":
            word = t.upper
            nxt = self.peek()
            if word in _STATEMENT_WORDS and (
                nxt.kind in ("ident", "qident", "number", "string")
                or (nxt.kind == "op" and nxt.text == "*")
            ):
                self.fail(f"'{t.text}' starts a SQL statement; give one expression")
            if word in ("TRUE", "FALSE"):
                self.advance()
                return Node("literal", "boolean")
            if word == "NULL":
                self.advance()
                return Node("literal", "null")
            if word == "CASE":
                return self.case()
            if word in ("CAST", "TRY_CAST") and self._next_is_open_paren():
                self.advance()
                self.advance()
                inner = self.expression()
                self.expect_word("AS")
                type_text = self.data_type()
                self.expect_op(")")
                return Node("cast", type_text, [inner])
            if word in _TYPED_LITERALS and self.peek().kind == "string":
                self.advance()
                self.advance()
                return Node("literal", word.lower())
            if word == "INTERVAL":
                self.advance()
                self.unary()
                while self.tok.kind == "ident" and self.tok.upper.rstrip("S") in (
                    "YEAR", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND", "MILLISECOND",
                    "MICROSECOND", "TO",
                ):
                    self.advance()
                return Node("literal", "interval")
            if word in ("EXTRACT", "SUBSTRING", "SUBSTR", "POSITION", "TRIM", "OVERLAY") and (
                self.peek().kind == "op" and self.peek().text == "("
            ):
                return self.special_call(word)
            self.advance()
            if self.at_op("->"):  # x -> lambda body; text: the parameter name
                self.advance()
                return Node("lambda", t.text, [self.expression()])
            if self.at_op("("):
                return self.call(t.text)
            return self.after_name(Node("column", t.text))
        self.fail("expected a value, column or function")
        raise AssertionError("unreachable")  # pragma: no cover

    def after_name(self, node: Node) -> Node:
        return node

    def call(self, name: str) -> Node:
        self.expect_op("(")
        args: list[Node] = []
        if self.at_word("SELECT", "WITH"):
            raise SqlSyntaxError("a subquery is not allowed in a per-row expression")
        if self.at_word("DISTINCT", "ALL"):
            self.advance()
        if not self.at_op(")"):
            args.append(self.expression())
            while self.at_op(","):
                self.advance()
                args.append(self.expression())
        self.expect_op(")")
        node = Node("call", name.lower(), args)
        if self.at_word("WITHIN") and self.peek().kind == "ident" and self.peek().upper == "GROUP":
            self.advance()
            self.advance()
            self.skip_parens()
        if self.at_word("FILTER") and self.peek().kind == "op" and self.peek().text == "(":
            self.advance()
            self.skip_parens()
        if self.at_word("IGNORE", "RESPECT"):
            self.advance()
            self.expect_word("NULLS")
        if self.at_word("OVER"):
            self.advance()
            if self.at_op("("):
                self.skip_parens()
            else:
                self.advance()
            node = Node("window", name.lower(), args)
        return node

    def skip_parens(self) -> None:
        self.expect_op("(")
        depth = 1
        while depth:
            if self.tok.kind == "eof":
                self.fail("unbalanced parentheses")
            if self.at_op("("):
                depth += 1
            elif self.at_op(")"):
                depth -= 1
            self.advance()

    def special_call(self, word: str) -> Node:
        """EXTRACT(f FROM x), SUBSTRING(x FROM a FOR b), POSITION(a IN b), TRIM(BOTH x FROM y)."""
        self.advance()
        self.expect_op("(")
        args: list[Node] = []
        if word == "EXTRACT" and self.tok.kind in ("ident", "string"):
            args.append(Node("literal", "field"))  # EXTRACT(YEAR FROM ts): YEAR is no column
            self.advance()
        while not self.at_op(")"):
            if self.tok.kind == "eof":
                self.fail("unbalanced parentheses")
            if self.at_word("FROM", "FOR", "IN", "BOTH", "LEADING", "TRAILING", "PLACING") or (
                self.at_op(",")
            ):
                self.advance()
                continue
            args.append(self.comparison())
        self.expect_op(")")
        return Node("call", word.lower(), args)

    def case(self) -> Node:
        self.expect_word("CASE")
        children: list[Node] = []
        if not self.at_word("WHEN"):
            children.append(Node("case_subject", "", [self.expression()]))
        results: list[Node] = []
        conditions: list[Node] = []
        while self.at_word("WHEN"):
            self.advance()
            conditions.append(Node("case_when", "", [self.expression()]))
            self.expect_word("THEN")
            results.append(self.expression())
        if not results:
            self.fail("CASE needs at least one WHEN ... THEN")
        if self.at_word("ELSE"):
            self.advance()
            results.append(self.expression())
        self.expect_word("END")
        return Node("case", "CASE", children + conditions + results)


def parse(text: str) -> Node:
    """Parse ``text`` as exactly one Spark SQL expression."""
    return _Parser(text).parse()


def boolean_verdict(node: Node) -> bool | None:
    """True if ``node`` is certainly boolean, False if certainly not, None if unknown (a column)."""
    kind = node.kind
    if kind in ("logical", "predicate", "comparison"):
        return True
    if kind == "literal":
        return node.text == "boolean" or (None if node.text == "null" else False)
    if kind == "arith":
        return False
    if kind == "paren":
        return boolean_verdict(node.children[0])
    if kind == "cast":
        return node.text.lower() in ("boolean", "bool")
    if kind in ("call", "window"):
        name = node.text.rsplit(".", 1)[-1]
        if name in BOOLEAN_FUNCTIONS:
            return True
        if name in NON_BOOLEAN_FUNCTIONS:
            return False
        if name in ("coalesce", "nvl", "ifnull", "nullif", "if", "iff", "greatest", "least"):
            branches = node.children[1:] if name in ("if", "iff") else node.children
            verdicts = {boolean_verdict(c) for c in branches}
            if True in verdicts and False not in verdicts:
                return True
            if False in verdicts and True not in verdicts:
                return False
        return None
    if kind == "case":
        verdicts = {boolean_verdict(c) for c in node.children
                    if c.kind not in ("case_subject", "case_when")}
        verdicts.discard(None)
        if verdicts == {True}:
            return True
        if verdicts == {False}:
            return False
        return None
    if kind in ("row", "star", "lambda"):
        return False
    return None  # column, subscript, variant, param: depends on the data


def check_expression(text: str) -> Node:
    """Parse ``text`` as one per-row expression or raise :class:`SqlSyntaxError` saying why."""
    if not isinstance(text, str) or not text.strip():
        raise SqlSyntaxError("the expression is empty")
    node = parse(text)
    for sub in node.walk():
        if sub.kind in ("window",):
            raise SqlSyntaxError(
                f"window function {sub.text}(...) OVER is not allowed in a per-row condition"
            )
    return node


def check_boolean(text: str) -> Node:
    """Parse ``text`` and check it can be a BOOLEAN condition; raise SqlSyntaxError if not.

    Example:
        >>> check_boolean("amount > 0 AND amount < 100000").kind
        'logical'
    """
    node = check_expression(text)
    if boolean_verdict(node) is False:
        raise SqlSyntaxError(
            "is not a boolean expression: a condition must describe a VALID row and be TRUE or "
            "FALSE, e.g. 'amount > 0' or 'order_id IS NOT NULL'"
        )
    if node.kind == "star":
        raise SqlSyntaxError("'*' is not a condition")
    return node


# Words Spark reads as functions without parentheses (never columns when unresolved).
_NILADIC = frozenset(
    """
    current_date current_timestamp current_time current_user current_catalog current_database
    current_schema current_timezone localtimestamp session_user user
    """.split()
)
# Functions whose first argument may be a bare unit word (DATEADD(MINUTE, 5, ts)).
_UNIT_FIRST = frozenset("timestampadd timestampdiff dateadd date_add datediff date_diff".split())


def column_references(text: str) -> list[tuple[str, ...]]:
    """The columns an expression reads, each as its dotted parts (``s.f`` → ``("s", "f")``).

    Backticks are removed; lambda parameters, ``EXTRACT`` fields, unit words and functions
    without parentheses (``current_date``) are not columns. The first part of a name is a
    column, or a table qualifier when the name has more parts.

    Example:
        >>> column_references("amount > 0 AND `order id` IS NOT NULL")
        [('amount',), ('order id',)]
        >>> column_references("exists(items, x -> x.qty > limit)")
        [('items',), ('limit',)]
    """
    found: list[tuple[str, ...]] = []
    _collect(parse(text), frozenset(), found)
    return found


def _unquote(part: str) -> str:
    return part[1:-1].replace("``", "`") if part.startswith("`") else part


def _name_parts(node: Node) -> tuple[str, ...]:
    if node.children:
        inner = node.children[0]
        return (*_name_parts(inner), _unquote(node.text[len(inner.text) + 1:]))
    return (_unquote(node.text),)


def _collect(node: Node, bound: frozenset[str], found: list[tuple[str, ...]]) -> None:
    if node.kind == "column":
        base = node
        while base.children and base.children[0].kind == "column":
            base = base.children[0]
        if base.children:  # a field of a variant or subscript value
            _collect(base.children[0], bound, found)
            return
        parts = _name_parts(node)
        first = parts[0].lower()
        niladic = len(parts) == 1 and first in _NILADIC
        if first not in bound and not niladic and parts not in found:
            found.append(parts)
        return
    if node.kind == "star" and node.text != "*":
        parts = tuple(_unquote(p) for p in node.text[:-2].split("."))
        if parts[0].lower() not in bound and parts not in found:
            found.append(parts)
        return
    if node.kind == "lambda":
        bound = bound | {n.strip().lower() for n in node.text.split(",") if n.strip()}
    children = node.children
    if (node.kind == "call" and node.text in _UNIT_FIRST and len(children) == 3
            and children[0].kind == "column" and not children[0].children):
        children = children[1:]
    for child in children:
        _collect(child, bound, found)


def split_alias(text: str) -> tuple[str, str | None]:
    """Split ``"to_date(order_date) AS date"`` into the expression and its alias.

    Only a top-level ``AS`` followed by one identifier counts (``CAST(x AS INT)`` has none).
    """
    tokens = tokenize(text)
    depth = 0
    for k, t in enumerate(tokens):
        if t.kind == "op" and t.text in ("(", "["):
            depth += 1
        elif t.kind == "op" and t.text in (")", "]"):
            depth -= 1
        elif depth == 0 and t.kind == "ident" and t.upper == "AS":
            rest = tokens[k + 1 :]
            if len(rest) == 2 and rest[0].kind in ("ident", "qident") and rest[1].kind == "eof":
                alias = rest[0].text
                if rest[0].kind == "qident":
                    alias = alias[1:-1].replace("``", "`")
                return text[: t.pos].strip(), alias
            raise SqlSyntaxError("AS must be followed by exactly one column name")
    return text.strip(), None
