"""Parsing statement texts (as pg_stat_statements, logs and files give them) with sqlglot.

One place for the quirks: `$n` placeholders next to commas confuse sqlglot's tokenizer (it reads
`$1,$2` as the start of a dollar-quoted string), texts may be truncated or not SQL at all, and the
same normalized text recurs across hosts. Every function here returns a value or None / "other" —
never raises — so callers can skip what cannot be analysed and say why.
"""

from __future__ import annotations

import gc
import re
import threading
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlglot import exp

_PARAM = re.compile(r"(?<![\w$])\$(\d+)(?!\d)")
_WS = re.compile(r"\s+")
_LEADING_COMMENTS = re.compile(r"^\s*(?:(?:--[^\n]*\n)|(?:/\*.*?\*/))\s*", re.S)

STATEMENT_TYPES = ("SELECT", "INSERT", "UPDATE", "DELETE", "OTHER")

YOUNG_OBJECTS_MAX = 1_000_000   # collection paused (gc_pause.gc_paused): collect the young generations beyond this many


def collect_young() -> None:
    """While the collector is paused around a batch of statements (`perftool.gc_pause.gc_paused`,
    the advisor's `read_catalog`, `build_items` and `generate_candidates`): collect the two young
    generations once they hold YOUNG_OBJECTS_MAX objects. The batch makes little cyclic garbage
    (199 objects on Dexter's 4,950 statements, never collected before the pause ends) but views
    inlined into copies and DML rewritten as SELECTs make some on every statement: this bounds it.
    With the collector on, the young generations never get this large."""
    if gc.get_count()[0] > YOUNG_OBJECTS_MAX:
        gc.collect(1)


def prepare(text: str) -> str:
    """Text sqlglot can tokenize: a space after every `$n` placeholder."""
    return _PARAM.sub(lambda m: f"${m.group(1)} ", text)


def parameter_count(text: str) -> int:
    """The highest `$n` placeholder of a text (0: none), as PREPARE needs arguments for."""
    return max((int(m.group(1)) for m in _PARAM.finditer(text or "")), default=0)


def strip_leading_comments(text: str) -> str:
    prev = None
    while prev != text:
        prev, text = text, _LEADING_COMMENTS.sub("", text, count=1)
    return text


@lru_cache(maxsize=1)
def _postgres():
    """sqlglot's PostgreSQL dialect, made once (sqlglot.parse(…, dialect="postgres") builds a new
    Dialect on every call); also quiets sqlglot's logger once ("falling back to Command" is not news)."""
    import logging

    from sqlglot.dialects.dialect import Dialect

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    return Dialect.get_or_raise("postgres")


_tools = threading.local()      # per thread: a tokenizer and a parser, reused (each parse resets them)


def _parse_one(text: str) -> exp.Expression | None:
    """One statement's tree, or None. A text of a shape already parsed (`_shape`: the same text but
    for its names and literals) is the earlier tree copied, with this text's names and literals put
    in: a copy costs a quarter to a half of a parse (Dexter's 4,950 pair queries, a workload's
    statements over many tables of one design, a log's literals)."""
    if _SHAPES.parses < SHAPES_FROM:
        _SHAPES.parses += 1
        return _parse_fresh(text)
    shape = _shape(text)
    if shape is None:
        return _parse_fresh(text)
    key, values = shape
    template = _SHAPES.templates.get(key)
    if template is not None:
        return _put_values(template[0].copy(), dict(zip(template[1], _classes(values), strict=True)))
    tree = _parse_fresh(text)
    if tree is not None and len(_SHAPES.templates) < SHAPES_MAX and _values_of(tree, set(values)) == sorted(values):
        # each value the text leaves out is one Identifier or Literal of the tree, and no other node
        # of the tree holds one (those left hold a kept word's text): the tree of a text of the same
        # shape differs in those nodes alone
        kept = tree.copy()
        for node in kept.walk():        # token positions (this text's, not another's): copied on every use
            if getattr(node, "_meta", None) is not None:
                node._meta = None
        _SHAPES.templates[key] = (kept, _classes(values))
    return tree


def _parse_fresh(text: str) -> exp.Expression | None:
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    tools = getattr(_tools, "pair", None)
    if tools is None:
        dialect = _postgres()
        tools = _tools.pair = (dialect.tokenizer_class(dialect=dialect),
                               dialect.parser_class(dialect=dialect, error_level=None))
    tokenizer, parser = tools
    try:
        sql = prepare(text)
        trees = parser.parse(tokenizer.tokenize(sql), sql)
    except (SqlglotError, RecursionError, ValueError, TypeError, IndexError, KeyError, AttributeError):
        _tools.pair = None      # made afresh: nothing of a failed parse is carried over
        return None
    found = [t for t in trees if isinstance(t, exp.Expression)]
    return found[0] if len(found) == 1 else None


SHAPES_FROM = 16        # texts parsed before `_parse_one` looks for shapes (a --query or two is not worth it)
SHAPES_MAX = 2_000      # shapes remembered (each holds one tree: ~10 kB); `release_trees` forgets them


class _Shapes:
    templates: dict[tuple[str, tuple[int, ...]], tuple[exp.Expression, tuple[tuple[str, str], ...]]] = {}
    parses = 0


_SHAPES = _Shapes()


def _shape(text: str) -> tuple[tuple[str, tuple[int, ...]], list[tuple[str, str]]] | None:
    """A text's shape and the values it leaves out, or None (a text this does not read safely).

    The values are its names and literals: each unquoted word that is no keyword nor a word
    sqlglot's parser looks for (`_fixed_words`), holds no `$` (sqlglot's tokenizer may read one
    as a dollar quote) and is not a function's name (followed by `(`) nor a typed string's prefix
    (followed by `'`), each quoted identifier, each standard string but an interval's, and each
    unsigned decimal number — as (kind, text as sqlglot keeps it). The shape is the text
    with each value replaced by a mark of its kind (comments, E'' and dollar-quoted strings, `$n`
    and everything else kept as written) and which values are equal (so that a text in which two
    names are one is not taken for one where they differ)."""
    if not text or "sqlglot.meta" in text:
        return None
    fixed = _fixed_words()
    parts: list[str] = []
    values: list[tuple[str, str]] = []
    kept = skip_to = 0
    for m in _SHAPE_LEX.finditer(text):
        start = m.start()
        if start < skip_to:             # inside a block comment or dollar quote passed over
            continue
        kind = m.lastgroup
        if kind == "word":
            w = m.group()
            after = text[m.end():m.end() + 1]
            if after.isspace():
                after = text[m.end():m.end() + 64].lstrip()[:1]
            if after == "(" or after == "'" or "$" in w or w.upper() in fixed:
                continue
            value = ("w", w)
        elif kind == "ident":
            body = m.group()
            if len(body) < 3 or body[-1] != '"':
                return None
            value = ("q", body[1:-1].replace('""', '"'))
        elif kind == "string":
            body = m.group()
            if len(body) < 2 or body[-1] != "'":
                return None
            if _INTERVAL_BEFORE.search(text, max(0, start - 12), start):
                continue                # interval '3 months': sqlglot reads its parts (kept)
            value = ("s", body[1:-1].replace("''", "'"))
        elif kind == "number":
            value = ("n", m.group())
        elif kind == "block":           # nested, as PostgreSQL reads them
            closed = _block_end(text, m.end())
            if closed is None:
                return None
            skip_to = closed
            continue
        elif kind == "dollar" or kind == "tag":
            quote = m.group("dollar")
            close = text.find(quote, m.end())
            if close < 0:
                return None
            skip_to = close + len(quote)
            continue
        elif kind == "uident":
            return None
        else:                           # a line comment, an E'' string: kept
            continue
        parts.append(text[kept:start])
        parts.append(_MARK[value[0]])
        kept = m.end()
        values.append(value)
    parts.append(text[kept:])
    first: dict[tuple[str, str], int] = {}
    pattern = tuple(first.setdefault(v, len(first)) for v in values)
    return ("".join(parts), pattern), values


_MARK = {"w": "\x00w", "q": "\x00q", "s": "\x00s", "n": "\x00n"}   # no text holds a NUL (PostgreSQL refuses it)
_INTERVAL_BEFORE = re.compile(r"(?<![\w$])[Ii][Nn][Tt][Ee][Rr][Vv][Aa][Ll]\s*\Z")


def _classes(values: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The distinct values in order of first occurrence (the order of a shape's pattern)."""
    return tuple(dict.fromkeys(values))


def _value_of(node: Any) -> tuple[str, str] | None:
    """A node's name or literal as `_shape` writes one — (kind, text) — or None for any other node."""
    from sqlglot import exp

    if isinstance(node, exp.Identifier):
        return ("q" if node.args.get("quoted") else "w", node.this)
    if isinstance(node, exp.Literal):
        return ("s" if node.args.get("is_string") else "n", node.this)
    return None


def _values_of(tree: exp.Expression, among: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The names and literals of a tree as `_shape` writes them that are `among` those, sorted."""
    values = (_value_of(node) for node in tree.walk())
    return sorted(v for v in values if v is not None and v in among)


def _put_values(tree: exp.Expression, mapping: dict[tuple[str, str], tuple[str, str]]) -> exp.Expression:
    """A shape's tree (a copy) with its names and literals replaced by those of another text."""
    for node in tree.walk():
        value = _value_of(node)
        new = mapping.get(value) if value is not None else None
        if new is not None:         # (else a kept word's: the same in every text of the shape)
            node.set("this", new[1])
    return tree


@lru_cache(maxsize=1)
def _fixed_words() -> frozenset[str]:
    """Words (upper case) `_shape` keeps as written: the tokenizer's keywords, and every word
    sqlglot's PostgreSQL parser and tokenizer name anywhere — their tables' keys and members and
    their code's string constants (`NULLS FIRST`, `ORDINALITY`, property names …): a parse may
    turn on those, on no other word's text. Read off the classes in ~5 ms."""
    import types

    dialect = _postgres()
    found: set[str] = set()

    def add(value: object) -> None:
        if isinstance(value, str):
            found.update(w.upper() for w in _WORD.findall(value))
        elif isinstance(value, (tuple, list, set, frozenset)):
            for x in value:
                if isinstance(x, str):
                    add(x)
        elif isinstance(value, types.CodeType):
            for c in value.co_consts:
                add(c)

    for cls in (dialect.tokenizer_class, dialect.parser_class):
        for klass in cls.__mro__:
            for item in vars(klass).values():
                if isinstance(item, (staticmethod, classmethod)):
                    item = item.__func__
                if isinstance(item, types.FunctionType):
                    add(item.__code__)
                elif isinstance(item, dict):
                    add(list(item))
                else:
                    add(item)
    return frozenset(found)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@lru_cache(maxsize=20_000)
def parse(text: str) -> exp.Expression | None:
    """The parsed statement, or None when sqlglot cannot read it (or it holds several statements).
    Cached and shared: callers must not change the tree (copy() it first)."""
    return _parse_one(text)


def parse_normalized(text: str) -> exp.Expression | None:
    """`parse(text)` with its identifiers folded as PostgreSQL folds them (unquoted → lower case),
    the tree the advisor resolves against the catalog. Parsed on its own (a copy of `parse`'s tree
    would cost half a parse), cached and shared: callers must not change it (copy() it first)."""
    return _normalized(text)[0]


_MADE: dict[int, weakref.ref] = {}     # the trees `_normalized` made since the last `release_trees`


@lru_cache(maxsize=20_000)
def _normalized(text: str) -> tuple[exp.Expression | None, Outline | None]:
    """The normalized tree and its Outline, both from one walk that folds the identifiers (as
    sqlglot's normalize_identifiers does) and takes the outline (`tree_outline`'s): a text with a
    `sqlglot.meta` comment (which can mark a subtree case-sensitive) takes sqlglot's own pass."""
    collect_young()
    tree = _parse_one(text)
    if tree is None:
        return None, None
    if "sqlglot.meta" in text:
        from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

        tree = normalize_identifiers(tree, dialect=_postgres())
        _MADE[id(tree)] = weakref.ref(tree)
        try:
            return tree, tree_outline(tree)
        except Exception:  # noqa: BLE001 - outline() never raises
            return tree, None
    _MADE[id(tree)] = weakref.ref(tree)
    return tree, _fold_and_outline(tree)


def _fold_and_outline(tree) -> Outline | None:
    from sqlglot import exp

    fold = _postgres().normalize_identifier
    ctes, found, kinds = [], [], set()
    for node in tree.walk():     # breadth-first, as normalize_identifiers and tree_outline walk
        kinds.add(type(node))
        if isinstance(node, exp.Identifier):
            fold(node)
        elif isinstance(node, exp.CTE):
            ctes.append(node)
        elif isinstance(node, exp.Table):
            found.append(node)
    try:
        return _outline_of({c.alias_or_name for c in ctes}, found, kinds, type(tree))   # names read once all are folded
    except Exception:  # noqa: BLE001 - outline() never raises
        return None


def fingerprint(text: str) -> str:
    """Host-independent identity of a normalized statement: comments dropped, case and spaces folded
    (queryid differs across major versions and architectures)."""
    body = strip_leading_comments(text or "").strip().rstrip(";").strip()
    return _WS.sub(" ", body).lower()


def _first_keyword(text: str) -> str:
    body = strip_leading_comments(text or "").lstrip("( \t\n")
    return body.split(None, 1)[0].upper() if body.strip() else ""


@lru_cache(maxsize=20_000)
def statement_type(text: str) -> str:
    """SELECT / INSERT / UPDATE / DELETE / OTHER. A WITH … is classified by its main statement
    (a data-modifying CTE counts as its main verb); SELECT … FOR UPDATE stays SELECT. Read from
    the normalized tree's outline (folding names changes no statement's type): `analyze` asks this
    of every statement and its index advisor parses the same texts normalized, so each is parsed
    once (on 10,000 tables with 1,060 statements, 0.4 s less), and the outline outlives the tree
    (`release_trees`)."""
    from sqlglot import exp

    shape = outline(text)
    if shape is not None:
        root = shape.root
        for cls, name in ((exp.Insert, "INSERT"), (exp.Update, "UPDATE"), (exp.Delete, "DELETE")):
            if issubclass(root, cls):
                return name
        if issubclass(root, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
            return "SELECT"
        if issubclass(root, exp.Merge):
            return "UPDATE"
        return "OTHER"
    word = _first_keyword(text)
    if word in ("SELECT", "INSERT", "UPDATE", "DELETE", "TABLE", "VALUES"):
        return "SELECT" if word in ("TABLE", "VALUES") else word
    return "OTHER"


@lru_cache(maxsize=20_000)
def tables(text: str) -> tuple[str, ...]:
    """Tables a statement reads or writes, as `schema.table` when qualified else `table`, with the
    names PostgreSQL resolves (unquoted folded to lower case, as `relation_names`); CTE names are
    left out. Empty when the text cannot be parsed. Read from the normalized tree the advisor and
    `statement_type` use, so `analyze` parses each statement once (on 10,000 tables with 1,060
    statements, a second parse of every statement was 0.5 s)."""
    return tuple(f"{schema}.{name}" if schema else name for schema, name in relation_names(text))


# word_names' lexer: comments, string literals (standard, E'' with backslash escapes, dollar-quoted),
# quoted identifiers and words, left to right (a quote inside a string or comment is not one)
_LEX = re.compile(r"""
    (?P<line>--[^\n]*)
  | (?P<block>/\*)
  | (?P<estring>[Ee]'(?:[^'\\]|\\.|'')*'?)
  | (?P<string>'(?:[^']|'')*'?)
  | (?P<dollar>\$(?P<tag>[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f][^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*)?\$)
  | (?P<uident>[Uu]&")
  | "(?P<ident>(?:[^"]|"")*)"?
  | (?P<word>[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f][^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*)
""", re.X | re.S)
# (a word as PostgreSQL's lexer reads one: a letter, _ or any non-ASCII character, then those, digits
# and $; a dollar quote's tag the same without $ — written as negated ASCII classes, which compile in
# 0.1 ms where \w with the non-ASCII range took 5 ms of every start-up)
_BLOCK = re.compile(r"/\*|\*/")
# _shape's lexer: word_names' and unsigned decimal numbers (not a word's or a $n placeholder's digits)
_SHAPE_LEX = re.compile(_LEX.pattern + r"""
  | (?P<number>(?<![\w$.])\d+(?:\.\d+)?(?![\w.$]))
""", re.X | re.S)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _block_end(text: str, pos: int) -> int | None:
    """Where a block comment opened just before `pos` ends (nested, as PostgreSQL reads them);
    None when it does not."""
    depth = 1
    while depth:
        b = _BLOCK.search(text, pos)
        if b is None:
            return None
        depth += 1 if b.group() == "/*" else -1
        pos = b.end()
    return pos


def word_names(text: str) -> set[str] | None:
    """Every name a statement could call a relation by — each word (folded as PostgreSQL folds an
    unquoted name, and as sqlglot does) and each quoted identifier — without parsing it: a superset
    of `relation_names(text)`'s names (keywords and column names too), read in a fraction of a
    parse, so that the advisor can read the catalog while it parses (`pipeline.read_catalog`).
    None for a text this cannot read safely (a U&"…" identifier): parse that one."""
    out: set[str] = set()
    pos, end = 0, len(text or "")
    while pos < end:
        m = _LEX.search(text, pos)
        if m is None:
            break
        kind = m.lastgroup if m.lastgroup != "tag" else "dollar"
        pos = m.end()
        if kind == "word":
            w = m.group("word")
            out.update((w, w.lower(), w.translate(_ASCII_LOWER)))
        elif kind == "ident":
            out.add(m.group("ident").replace('""', '"'))
        elif kind == "uident":
            return None
        elif kind == "block":           # nested, as PostgreSQL reads them
            after = _block_end(text, pos)
            pos = end if after is None else after
        elif kind == "dollar":
            close = text.find(m.group("dollar"), pos)
            pos = end if close < 0 else close + len(m.group("dollar"))
    return out


def relation_names(text: str) -> list[tuple[str | None, str]]:
    """Relations a statement names (schema or None, stored name), CTE names left out. Never raises."""
    found = outline(text)
    return list(found.relations) if found is not None else []


@dataclass(frozen=True)
class Outline:
    """What one walk over a statement's normalized tree finds: the relations it names (CTE names
    left out) and the node types it holds (so an analysis can skip looking for what is absent)."""

    relations: tuple[tuple[str | None, str], ...]
    kinds: frozenset[type]
    root: type                  # the statement's own node type (exp.Select, exp.Insert, …)


@lru_cache(maxsize=20_000)
def outline(text: str) -> Outline | None:
    """The Outline of `parse_normalized(text)`, or None when it cannot be parsed. Never raises.
    Cached on its own: it stays when `release_trees` lets the trees go."""
    try:
        return _normalized(text)[1] if "<insufficient privilege>" not in (text or "") else None
    except Exception:  # noqa: BLE001 - analysis must never crash on input
        return None


def release_trees() -> None:
    """Let the cached normalized trees go (their outlines, types and tables stay cached): a tree
    is ~10 kB, 1,060 statements' ~10 MiB. The advisor calls this once it has analysed its
    statements (`pipeline.advise`); a later `parse_normalized` of the same text parses it again.
    A tree is cyclic (each node points to its parent): made under `gc_paused`, it would sit in
    the oldest generation once the pause ends, which the collector seldom visits, and a pass over
    the young generation while still paused walks everything the pause made (60–100 ms on
    analyze's 10,000 tables, most of it the catalog). So each tree's parent links are cut instead
    (a walk over its nodes: ~15 ms for 1,060 trees) and reference counting frees it at once; a
    caller must hold no tree across this. The trees of `_shape`s go the same way."""
    trees = [ref() for ref in _MADE.values()] + [tree for tree, _classes in _SHAPES.templates.values()]
    _MADE.clear()
    _normalized.cache_clear()
    _SHAPES.templates.clear()
    for tree in trees:
        if tree is not None:
            unlink_tree(tree)


def unlink_tree(tree: exp.Expression) -> None:
    """Cut a tree's parent links (no node of it may be used again): without its cycles, reference
    counting frees it with its last reference, not the collector at its next pass."""
    for node in tree.walk():
        node.parent = None


def tree_relations(tree) -> list[tuple[str | None, str]]:
    """(schema or None, name) of every relation a parsed statement names, CTE names left out."""
    return list(tree_outline(tree).relations)


def tree_outline(tree) -> Outline:
    from sqlglot import exp

    ctes, found, kinds = set(), [], set()
    for node in tree.walk():     # one breadth-first walk for all (find_all's order)
        kinds.add(type(node))
        if isinstance(node, exp.CTE):
            ctes.add(node.alias_or_name)
        elif isinstance(node, exp.Table):
            found.append(node)
    return _outline_of(ctes, found, kinds, type(tree))


def _outline_of(ctes: set[str], found: list, kinds: set[type], root: type) -> Outline:
    from sqlglot import exp

    out: list[tuple[str | None, str]] = []
    for t in found:
        if not isinstance(t.this, exp.Identifier):
            continue
        schema = t.db or None
        if schema is None and t.name in ctes:
            continue
        key = (schema, t.name)
        if key not in out:
            out.append(key)
    return Outline(tuple(out), frozenset(kinds), root)
