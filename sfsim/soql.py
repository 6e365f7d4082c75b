"""A SOQL subset: tokenizer, recursive-descent parser, binder and evaluator (reference §2.4, §5).

Grammar::

    query      := SELECT (COUNT '(' ')' | path (',' path)*) FROM name
                  [WHERE cond] [ORDER BY order (',' order)*] [LIMIT int] [OFFSET int]
    cond       := unary (AND unary)* | unary (OR unary)*     -- mixing needs parentheses
    unary      := NOT unary | '(' cond ')' | path op value
                | path [NOT] IN '(' value (',' value)* ')' | path LIKE string
    op         := = | != | <> | < | <= | > | >=
    value      := 'string' | number | datetime | date | TRUE | FALSE | NULL
    path       := name ('.' name)?        -- one relationship hop, e.g. Contact__r.Email
    order      := path [ASC | DESC] [NULLS (FIRST | LAST)]

Semantics as Salesforce (§5): text comparisons (=, !=, IN, LIKE) are case-insensitive and
the stored case is returned; ids compare on their 15 case-sensitive characters, so 15- and
18-character literals both match and a lower-cased 18-character id matches nothing (§4);
literals must have the field's type (a quoted datetime is an error). Errors carry the
position caret of real responses: ``\\n<query>\\n   ^\\nERROR at Row:1:Column:4\\n<message>``.

Matching queries (``Email IN (...)``, ``Id IN (...)``, a lookup ``= '003...'``) use the
org's indexes; only the candidates are filtered, never the whole table.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import ids, realorg
from .org import Org
from .schema import TEXT_TYPES, Field, Record, SObjectType, parse_date, parse_datetime

MAX_QUERY_LENGTH = 100_000  # §2.4
MAX_LITERAL_LENGTH = 4_000  # §2.4, per string literal in WHERE


class SoqlError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- Tokenizer --------------------------------------------------------------------------


@dataclass
class Token:
    kind: str  # ident, string, number, datetime, date, op, punct, eof
    text: str
    pos: int
    value: Any = None

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "ident" else ""


_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\dT])")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?![\w.])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_ESCAPES = {"'": "'", "\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f",
            "%": "\\%", "_": "\\_"}  # \% and \_ stay escaped for LIKE


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos, n = 0, len(text)
    while pos < n:
        ch = text[pos]
        if ch.isspace():
            pos += 1
            continue
        if ch == "'":
            value, end = _read_string(text, pos)
            tokens.append(Token("string", text[pos:end], pos, value))
            pos = end
            continue
        m = _DATETIME.match(text, pos)
        if m:
            tokens.append(Token("datetime", m.group(), pos, parse_datetime(m.group())))
            pos = m.end()
            continue
        m = _DATE.match(text, pos)
        if m:
            tokens.append(Token("date", m.group(), pos, parse_date(m.group())))
            pos = m.end()
            continue
        m = _NUMBER.match(text, pos)
        if m:
            tokens.append(Token("number", m.group(), pos, float(m.group())))
            pos = m.end()
            continue
        m = _IDENT.match(text, pos)
        if m:
            tokens.append(Token("ident", m.group(), pos))
            pos = m.end()
            continue
        op = next((o for o in _OPS if text.startswith(o, pos)), None)
        if op:
            tokens.append(Token("op", op, pos))
            pos += len(op)
            continue
        if ch in "(),.":
            tokens.append(Token("punct", ch, pos))
            pos += 1
            continue
        raise _error("MALFORMED_QUERY", text, pos, f"line 1:{pos} no viable alternative at character '{ch}'")
    tokens.append(Token("eof", "<EOF>", n))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    out = []
    pos = start + 1
    while pos < len(text):
        ch = text[pos]
        if ch == "\\":
            nxt = text[pos + 1 : pos + 2]
            if nxt not in _ESCAPES:
                raise _error("MALFORMED_QUERY", text, pos, f"Invalid string literal '{text[start:pos + 2]}'. Illegal character sequence '\\{nxt}' in string literal.")
            out.append(_ESCAPES[nxt])
            pos += 2
            continue
        if ch == "'":
            return "".join(out), pos + 1
        out.append(ch)
        pos += 1
    raise _error("MALFORMED_QUERY", text, start, f"line 1:{start} mismatched character '<EOF>' expecting '''")


def _error(code: str, text: str, pos: int, message: str) -> SoqlError:
    """Message with the query, a caret under the offending token and Row/Column (§3.2)."""
    row = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    col = pos - line_start + 1
    return SoqlError(code, f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}")


# --- AST ----------------------------------------------------------------------------------


@dataclass
class Path:
    parts: list[str]
    pos: int


@dataclass
class Literal:
    kind: str  # string, number, datetime, date, boolean, null
    value: Any
    pos: int


@dataclass
class Comparison:
    path: Path
    op: str  # = != < <= > >= IN NOTIN LIKE
    values: list[Literal]


@dataclass
class BoolOp:
    op: str  # AND OR NOT
    items: list


@dataclass
class OrderItem:
    path: Path
    descending: bool
    nulls_last: bool


@dataclass
class Query:
    text: str
    count_only: bool
    select: list[Path]
    object_name: str
    object_pos: int
    where: Any = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


class Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, tok: Token | None = None) -> SoqlError:
        tok = tok or self.tok
        return _error("MALFORMED_QUERY", self.text, tok.pos, f"unexpected token: {tok.text}")

    def keyword(self, *words: str) -> Token:
        tok = self.tok
        if tok.upper not in words:
            raise self.fail()
        return self.next()

    def accept(self, word: str) -> bool:
        if self.tok.upper == word:
            self.i += 1
            return True
        return False

    def punct(self, ch: str) -> None:
        if not (self.tok.kind == "punct" and self.tok.text == ch):
            raise self.fail()
        self.i += 1

    def parse(self) -> Query:
        self.keyword("SELECT")
        count_only, select = False, []
        if self.tok.upper == "COUNT" and self.tokens[self.i + 1].text == "(":
            self.i += 2
            self.punct(")")
            count_only = True
        else:
            select.append(self.path())
            while self.tok.text == ",":
                self.i += 1
                select.append(self.path())
        self.keyword("FROM")
        obj = self.tok
        if obj.kind != "ident":
            raise self.fail()
        self.i += 1
        q = Query(self.text, count_only, select, obj.text, obj.pos)
        if self.accept("WHERE"):
            q.where = self.condition()
        if self.tok.upper == "ORDER":
            self.i += 1
            self.keyword("BY")
            q.order.append(self.order_item())
            while self.tok.text == ",":
                self.i += 1
                q.order.append(self.order_item())
        if self.accept("LIMIT"):
            q.limit = self.integer()
        if self.accept("OFFSET"):
            q.offset = self.integer()
        if self.tok.kind != "eof":
            raise self.fail()
        return q

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "number" or not tok.text.isdigit():
            raise self.fail()
        self.i += 1
        return int(tok.text)

    def path(self) -> Path:
        tok = self.tok
        if tok.kind != "ident" or tok.upper in ("FROM", "WHERE"):
            raise self.fail()
        self.i += 1
        parts = [tok.text]
        while self.tok.text == ".":
            self.i += 1
            if self.tok.kind != "ident":
                raise self.fail()
            parts.append(self.next().text)
        return Path(parts, tok.pos)

    def order_item(self) -> OrderItem:
        path = self.path()
        desc = False
        if self.tok.upper in ("ASC", "DESC"):
            desc = self.next().upper == "DESC"
        nulls_last = desc
        if self.accept("NULLS"):
            nulls_last = self.keyword("FIRST", "LAST").upper == "LAST"
        return OrderItem(path, desc, nulls_last)

    def condition(self):
        first = self.unary()
        if self.tok.upper not in ("AND", "OR"):
            return first
        op = self.tok.upper
        items = [first]
        while self.tok.upper in ("AND", "OR"):
            if self.tok.upper != op:  # SOQL needs parentheses to mix AND and OR
                raise self.fail()
            self.i += 1
            items.append(self.unary())
        return BoolOp(op, items)

    def unary(self):
        if self.accept("NOT"):
            return BoolOp("NOT", [self.unary()])
        if self.tok.text == "(":
            self.i += 1
            inner = self.condition()
            self.punct(")")
            return inner
        path = self.path()
        tok = self.tok
        if tok.kind == "op":
            self.i += 1
            return Comparison(path, "!=" if tok.text == "<>" else tok.text, [self.literal()])
        if tok.upper == "LIKE":
            self.i += 1
            return Comparison(path, "LIKE", [self.literal()])
        negated = False
        if tok.upper == "NOT" and self.tokens[self.i + 1].upper == "IN":
            self.i += 1
            negated = True
        if self.tok.upper == "IN":
            self.i += 1
            self.punct("(")
            values = [self.literal()]
            while self.tok.text == ",":
                self.i += 1
                values.append(self.literal())
            self.punct(")")
            return Comparison(path, "NOTIN" if negated else "IN", values)
        raise self.fail()

    def literal(self) -> Literal:
        tok = self.tok
        if tok.kind in ("string", "number", "datetime", "date"):
            self.i += 1
            if tok.kind == "string" and len(tok.value) > MAX_LITERAL_LENGTH:
                raise _error("MALFORMED_QUERY", self.text, tok.pos, f"String literal exceeds the maximum length of {MAX_LITERAL_LENGTH} characters")
            return Literal(tok.kind, tok.value, tok.pos)
        if tok.upper in ("TRUE", "FALSE"):
            self.i += 1
            return Literal("boolean", tok.upper == "TRUE", tok.pos)
        if tok.upper == "NULL":
            self.i += 1
            return Literal("null", None, tok.pos)
        raise self.fail()


def parse(text: str) -> Query:
    if len(text) > MAX_QUERY_LENGTH:
        raise SoqlError("MALFORMED_QUERY", f"SOQL statements cannot be longer than {MAX_QUERY_LENGTH:,} characters")
    return Parser(text).parse()


# --- Binding and evaluation ---------------------------------------------------------------


@dataclass
class Column:
    """A resolved select/where/order path: a field of the object or of a related record."""

    names: list[str]  # canonical names, e.g. ["Contact__c", "Email"] for Contact__r.Email
    field: Field
    relationship: str | None = None  # "Contact__r"
    target: SObjectType | None = None

    def getter(self, org: Org) -> Callable[[dict], Any]:
        if self.target is None:
            name = self.names[0]
            return lambda values: values.get(name)
        ref, name, target = self.names[0], self.names[1], self.target

        def get(values: dict) -> Any:
            ref_id = values.get(ref)
            rec = target.records.get(ref_id[:15]) if ref_id else None
            return rec.values.get(name) if rec is not None else None

        return get


NO_FIELD = ("No such column '{name}' on entity '{obj}'. If you are attempting to use a custom field, be sure to "
             "append the '__c' after the custom field name. Please reference your WSDL or the describe call for "
             "the appropriate names.")
NO_RELATION = ("Didn't understand relationship '{name}' in field path. If you are attempting to use a custom "
                "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
                "your WSDL or the describe call for the appropriate names.")
NO_TYPE = ("sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to "
            "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
            "appropriate names.")


class Bound:
    """A query bound to the org's schema, ready to run."""

    def __init__(self, org: Org, q: Query):
        self.org, self.q = org, q
        obj = org.sobject(q.object_name)
        if obj is None or realorg.unreadable(org, obj):
            raise _error("INVALID_TYPE", q.text, q.object_pos, NO_TYPE.format(name=q.object_name))
        self.obj = obj
        self.columns = [self.resolve(p) for p in q.select]
        self.predicate = self.compile(q.where) if q.where is not None else None
        self.order = [(self.resolve(o.path), o) for o in q.order]

    def resolve(self, path: Path) -> Column:
        obj = self.obj
        if len(path.parts) == 1:
            f = obj.field(path.parts[0])
            if f is None:
                raise _error("INVALID_FIELD", self.q.text, path.pos, NO_FIELD.format(name=path.parts[0], obj=obj.name))
            return Column([f.name], f)
        if len(path.parts) > 2:
            raise _error("INVALID_FIELD", self.q.text, path.pos, NO_RELATION.format(name=path.parts[0]))
        rel_name, field_name = path.parts
        ref = next((f for f in obj.fields.values() if f.type == "reference" and f.relationship_name
                    and f.relationship_name.lower() == rel_name.lower()), None)
        target = self.org.sobject(ref.reference_to[0]) if ref else None
        if ref is None or target is None:
            raise _error("INVALID_FIELD", self.q.text, path.pos, NO_RELATION.format(name=rel_name))
        f = target.field(field_name)
        if f is None:
            raise _error("INVALID_FIELD", self.q.text, path.pos, NO_FIELD.format(name=field_name, obj=target.name))
        return Column([ref.name, f.name], f, ref.relationship_name, target)

    # literal checks (§5): the literal must have the field's type
    def typed(self, col: Column, lit: Literal, op: str) -> Any:
        f, t = col.field, col.field.type
        if lit.kind == "null":
            return None

        def wrong(expected: str, quoted: bool) -> SoqlError:
            how = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
            return _error("INVALID_FIELD", self.q.text, lit.pos,
                          f"value of filter criterion for field '{f.name}' must be of type {expected} and {how}")

        if t in ("id", "reference"):
            if lit.kind != "string":
                raise wrong("id", True)
            if op == "LIKE":
                raise _error("INVALID_QUERY_FILTER_OPERATOR", self.q.text, lit.pos, "invalid operator on id field")
            if not ids.is_id_shape(lit.value):
                raise _error("INVALID_QUERY_FILTER_OPERATOR", self.q.text, lit.pos, f"invalid ID field: {lit.value}")
            return lit.value[:15]
        if t in TEXT_TYPES:
            if lit.kind != "string":
                raise wrong("string", True)
            return lit.value.lower()
        if t == "boolean":
            if lit.kind != "boolean":
                raise wrong("boolean", False)
            return lit.value
        if t in ("double", "int"):
            if lit.kind != "number":
                raise wrong("double" if t == "double" else "int", False)
            return lit.value
        if t == "datetime":
            if lit.kind != "datetime":
                raise wrong("dateTime", False)
            return lit.value
        if t == "date":
            if lit.kind != "date":
                raise wrong("date", False)
            return lit.value
        raise wrong(t, False)

    def compile(self, node) -> Callable[[dict], bool]:
        if isinstance(node, BoolOp):
            parts = [self.compile(item) for item in node.items]
            if node.op == "NOT":
                inner = parts[0]
                return lambda v: not inner(v)
            if node.op == "AND":
                return lambda v: all(p(v) for p in parts)
            return lambda v: any(p(v) for p in parts)
        col = self.resolve(node.path)
        node.column = col  # remembered for the index planner
        if node.op == "LIKE" and col.field.type not in TEXT_TYPES and col.field.type not in ("id", "reference"):
            raise _error("INVALID_QUERY_FILTER_OPERATOR", self.q.text, node.values[0].pos, f"invalid operator on {col.field.type} field")
        lits = [self.typed(col, lit, node.op) for lit in node.values]
        get = _normalised(col.getter(self.org), col.field.type)
        op = node.op
        if op == "IN":
            wanted = set(lits)
            return lambda v: get(v) in wanted
        if op == "NOTIN":
            wanted = set(lits)
            return lambda v: get(v) not in wanted
        lit = lits[0]
        if op == "LIKE":
            rx = like_regex(node.values[0].value or "")

            def like(v: dict) -> bool:
                x = get(v)
                return x is not None and rx.fullmatch(x) is not None

            return like
        if op == "=":
            return lambda v: get(v) == lit
        if op == "!=":
            return lambda v: get(v) != lit
        if lit is None:  # < > <= >= null matches nothing
            return lambda v: False
        cmp = _ORDERINGS[op]

        def compare(v: dict) -> bool:
            x = get(v)
            return x is not None and cmp(x, lit)

        return compare

    # index planner
    def candidates(self, node) -> set[str] | None:
        """15-char ids that can satisfy ``node``, from indexes; None when a scan is needed."""
        if isinstance(node, Comparison):
            col = getattr(node, "column", None)
            if col is None or col.target is not None or node.op not in ("=", "IN"):
                return None
            f = col.field
            if f.name not in self.obj.indexes:
                return None
            out: set[str] = set()
            for lit in node.values:
                if lit.kind == "null":
                    return None
                key = lit.value[:15] if f.type in ("id", "reference") else (lit.value.lower() if isinstance(lit.value, str) else lit.value)
                out |= self.obj.lookup(f.name, key)
            return out
        if isinstance(node, BoolOp) and node.op == "AND":
            sets = [s for s in (self.candidates(item) for item in node.items) if s is not None]
            return min(sets, key=len) if sets else None
        if isinstance(node, BoolOp) and node.op == "OR":
            sets = [self.candidates(item) for item in node.items]
            if any(s is None for s in sets):
                return None
            return set().union(*sets)
        return None

    def run(self, *, include_deleted: bool) -> list[Record]:
        obj = self.obj
        cand = self.candidates(self.q.where) if self.q.where is not None else None
        if cand is None:
            records = obj.records.values()
        else:
            records = sorted((obj.records[i] for i in cand if i in obj.records), key=lambda r: r.seq)
        pred = self.predicate
        hidden = self.org.hidden  # records private sharing keeps from the user (realorg.py)
        out = [r for r in records if (include_deleted or not r.values["IsDeleted"]) and (pred is None or pred(r.values))
               and (not hidden or r.id[:15] not in hidden)]
        # Stable multi-key sort, last key first. Defaults as SOQL: ASC NULLS FIRST, DESC NULLS LAST.
        for col, item in reversed(self.order):
            get = col.getter(self.org)
            text = col.field.type in TEXT_TYPES
            null_rank = 2 if item.nulls_last != item.descending else 0

            def key(r: Record, get=get, text=text, null_rank=null_rank):
                x = get(r.values)
                if x is None:
                    return (null_rank, 0)
                return (1, x.lower() if text else x)

            out.sort(key=key, reverse=item.descending)
        if self.q.offset:
            out = out[self.q.offset :]
        if self.q.limit is not None:
            out = out[: self.q.limit]
        return out

    def render(self, rec: Record, version: str) -> dict:
        row: dict[str, Any] = {"attributes": {"type": self.obj.name, "url": f"/services/data/v{version}/sobjects/{self.obj.name}/{rec.id}"}}
        for col in self.columns:
            if col.target is None:
                row[col.names[0]] = rec.values.get(col.names[0])
                continue
            ref_id = rec.values.get(col.names[0])
            related = col.target.records.get(ref_id[:15]) if ref_id else None
            if related is None:
                row.setdefault(col.relationship, None)
                continue
            nested = row.get(col.relationship) or {
                "attributes": {"type": col.target.name, "url": f"/services/data/v{version}/sobjects/{col.target.name}/{related.id}"}
            }
            nested[col.names[1]] = related.values.get(col.names[1])
            row[col.relationship] = nested
        return row


_ORDERINGS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _normalised(get: Callable[[dict], Any], sf_type: str) -> Callable[[dict], Any]:
    """Read a value as comparisons see it: text case-folded, ids on their 15 characters."""
    if sf_type in TEXT_TYPES:
        def text(v: dict) -> Any:
            x = get(v)
            return x.lower() if x is not None else None

        return text
    if sf_type in ("id", "reference"):
        def id15(v: dict) -> Any:
            x = get(v)
            return x[:15] if x is not None else None

        return id15
    return get


def like_regex(pattern: str) -> re.Pattern:
    """SOQL LIKE: ``%`` any run, ``_`` one character, ``\\%``/``\\_`` literal; case-insensitive."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def prepare(org: Org, text: str) -> Bound:
    """Parse and bind; raises SoqlError with Salesforce's code and message."""
    return Bound(org, parse(text))
