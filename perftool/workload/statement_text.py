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
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

_PARAM = re.compile(r"(?<![\w$])\$(\d+)(?!\d)")
_WS = re.compile(r"\s+")
_LEADING_COMMENTS = re.compile(r"^\s*(?:(?:--[^\n]*\n)|(?:/\*.*?\*/))\s*", re.S)

STATEMENT_TYPES = ("SELECT", "INSERT", "UPDATE", "DELETE", "OTHER")

YOUNG_OBJECTS_MAX = 1_000_000   # collection paused (gc_pause.gc_paused): collect the young generations beyond this many
RELEASE_COLLECT_MIN = 256       # trees released (release_trees) from which a full collection frees them at once


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
        try:
            return tree, tree_outline(tree)
        except Exception:  # noqa: BLE001 - outline() never raises
            return tree, None
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
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


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
            depth = 1
            while depth:
                b = _BLOCK.search(text, pos)
                if b is None:
                    pos = end
                    break
                depth += 1 if b.group() == "/*" else -1
                pos = b.end()
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
    A tree is cyclic (each node points to its parent) and, made under `gc_paused`, sits in the
    oldest generation once the pause ends, which the collector seldom visits: so they are freed
    now, by a pass over the youngest generation while the collector is still paused (the caller's
    pause holds the trees' making: `pipeline.advise`), else by a full pass (44 ms on analyze's
    10,000 tables). Below RELEASE_COLLECT_MIN trees the collector's own passes are left to do it."""
    held = _normalized.cache_info().currsize
    _normalized.cache_clear()
    if held >= RELEASE_COLLECT_MIN:
        gc.collect(2 if gc.isenabled() else 0)


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
