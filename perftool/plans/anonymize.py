"""`perftool explain --anonymize`: identifiers and literals replaced consistently, so a plan can be shared.

One `Anonymizer` per run holds the mapping: the same name (table, column, index, alias, schema,
CTE, trigger, user function or type) becomes the same token everywhere (`t1`, `c3`, `i2`…), the
same string literal the same `'v1'`, the same number the same `1001`. It rewrites, before any
tip is read or anything rendered:

- the EXPLAIN JSON document (`document()`): name fields (Relation Name, Schema, Alias, Index Name,
  CTE Name, Function Name, trigger names and relations) as names, every expression field (Filter,
  Index Cond, Output, Sort Key, …; anything not a known enumeration) through `sql()`, and the
  Query Text of an auto_explain entry; the result is still an EXPLAIN document (`plans.parse`
  reads it), so the tips are computed on it and name only tokens;
- statement text and SQL (`sql()`): a tokenizer that keeps PostgreSQL's keywords, built-in
  functions (before `(`) and built-in types (after `::`) — the names of PostgreSQL 15's catalogue,
  `pg_names.json` — and replaces every other word, quoted identifier, string and number; a word
  the statement or the plan uses as a name (sqlglot's identifiers, the plan's name fields, a
  word next to a `.`) is replaced even when it is also an unreserved keyword (`name`, `value`);
  comments are dropped;
- node labels of what-if proofs (`label()`): the node-type vocabulary is kept;
- the finished Report (`report()`): every string again, for names the mapping knows (whole
  words, and words built from them like `orders_total_idx`) and string literals it knows — the
  server's messages, notes, origins; the server's host and database are replaced.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from typing import Any

from perftool.plans.proof import Proof
from perftool.report.model import Finding, Report, Section

# EXPLAIN document keys whose value is a name, and the token prefix for it
NAME_KEYS = {
    "Relation Name": "t", "Schema": "s", "Alias": "a", "Index Name": "i", "CTE Name": "q",
    "Function Name": "f", "Trigger Name": "tg", "Constraint Name": "k", "Relation": "t",
    "Table Function Name": "f",
}
# keys whose value is an EXPLAIN enumeration, kept as they are
KEEP_KEYS = frozenset({
    "Node Type", "Strategy", "Join Type", "Parent Relationship", "Scan Direction", "Sort Method",
    "Sort Space Type", "Partial Mode", "Operation", "Command", "Sampling Method", "Hash Agg Strategy",
    "Worker Number", "Conflict Resolution", "Parallel Aware", "Async Capable", "Single Copy",
    "Inner Unique", "Presorted Key Method",
})
STATEMENT_KEYS = frozenset({"Query Text"})
SETTINGS_WITH_NAMES = frozenset({"search_path"})
# words of node labels (Plan.label()) and of EXPLAIN's own expression text
LABEL_WORDS = frozenset("""
    aggregate append bitmap and backward cte custom delete foreign function gather group hash hashaggregate
    groupaggregate mixedaggregate heap incremental index insert join limit lockrows materialize memoize merge
    mergeappend modifytable named nested loop only or parallel partial finalize project projectset recursive
    result sample scan seq setop sort subquery table tid range tuplestore union unique update using values
    windowagg worktable on full left right anti semi inner simple hashed sorted mixed
    """.split())
EXPLAIN_WORDS = frozenset({"subplan", "initplan", "hashed", "returns", "partial",
                           "btree", "hash", "gist", "gin", "spgist", "brin"})     # index access methods

_TOKEN = re.compile(r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<string>(?:[EeBbXxNn]|[Uu]&)?'(?:[^']|'')*')
  | (?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$.*?\$(?P=tag)?\$)
  | (?P<param>\$\d+)
  | (?P<quoted>"(?:[^"]|"")+")
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)
  | (?P<cast>::)
  | (?P<other>.)
""", re.S | re.X)
# numbers after these words are positions and counts, not data: GROUP BY 1, LIMIT 10, SubPlan 2
_NUMBER_AFTER = frozenset({"by", "limit", "offset", "subplan", "initplan"})
_WORD = re.compile(r"[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*")
_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@lru_cache(maxsize=1)
def builtin_names() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """(reserved-ish keywords, unreserved keywords, built-in functions, built-in types), lower case."""
    doc = json.loads(resources.files("perftool.plans").joinpath("pg_names.json").read_text(encoding="utf-8"))
    kw = doc["keywords"]
    strong = frozenset(w for cat in ("R", "C", "T") for w in kw.get(cat, ()))
    return strong, frozenset(kw.get("U", ())), frozenset(doc["functions"]), frozenset(doc["types"])


class Anonymizer:
    def __init__(self) -> None:
        self.names: dict[str, str] = {}          # canonical name → token
        self.literals: dict[str, str] = {}       # literal text (as written, quotes included) → token
        self.tokens: set[str] = set()
        self._counts: dict[str, int] = {}
        self._numbers = 1000
        self._strings = 0

    # -- the mapping --------------------------------------------------------------------------------------
    def name(self, raw: str, prefix: str = "n") -> str:
        """The token for a name as the catalogue spells it (`orders`, `Orders` for a quoted one)."""
        if raw in self.tokens:
            return raw
        token = self.names.get(raw)
        if token is None:
            while True:
                self._counts[prefix] = self._counts.get(prefix, 0) + 1
                token = f"{prefix}{self._counts[prefix]}"
                if token not in self.names:
                    break
            self.names[raw] = token
            self.tokens.add(token)
        return token

    def learn(self, raw: str, prefix: str = "n") -> None:
        self.name(raw, prefix)

    def learn_statement(self, text: str) -> None:
        """The statement's identifiers (read with sqlglot), so a name that is also a keyword is replaced."""
        from sqlglot import exp

        from perftool.workload.statement_text import parse

        try:
            tree = parse(text)
        except Exception:  # noqa: BLE001 - a statement sqlglot cannot read: the tokenizer still runs
            return
        if tree is None:
            return
        for ident in tree.find_all(exp.Identifier):
            name = ident.name
            if name:
                self.learn(name if ident.quoted else name.lower(), "c")

    def _literal(self, content: str) -> str:
        """The token for a literal's value (`42` and `'42'` are one literal): a number for a number."""
        token = self.literals.get(content)
        if token is None:
            if _NUMBER.fullmatch(content.strip()):
                while True:
                    self._numbers += 1
                    if str(self._numbers) not in self.literals:
                        break
                token = str(self._numbers)
            else:
                self._strings += 1
                token = f"v{self._strings}"
            self.literals[content] = token
            self.tokens.add(token)
        return token

    def _string_literal(self, text: str) -> str:
        """`'…'`, `E'…'`, `$$…$$` → the same form around the token."""
        if text.startswith("$"):
            tag = text[:text.index("$", 1) + 1]
            return f"{tag}{self._literal(text[len(tag):-len(tag)])}{tag}"
        quote = text.index("'")
        return f"{text[:quote]}'{self._literal(text[quote + 1:-1].replace(chr(39) * 2, chr(39)))}'"

    # -- SQL -----------------------------------------------------------------------------------------------
    def sql(self, text: str, *, words: frozenset[str] = EXPLAIN_WORDS, numbers: bool = True) -> str:
        """SQL (a statement or an EXPLAIN expression) with its names and literals replaced."""
        strong, unreserved, functions, types = builtin_names()
        tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text)]
        out: list[str] = []
        type_mode = False
        n = len(tokens)
        for i, (kind, value) in enumerate(tokens):
            if kind == "comment":
                out.append(" ")
                continue
            if kind == "cast":
                type_mode = True
                out.append(value)
                continue
            if kind == "other" and value.isspace():
                out.append(value)
                continue
            if kind in ("string", "dollar"):
                out.append(self._string_literal(value))
            elif kind == "number":
                prev = _previous_word(tokens, i)
                keep = not numbers or (prev is not None and prev.lower() in _NUMBER_AFTER)
                out.append(value if keep else self._literal(value))
            elif kind == "quoted":
                raw = value[1:-1].replace('""', '"')
                out.append(self.name(raw, _prefix(tokens, i)))
            elif kind == "word":
                out.append(self._word(tokens, i, n, value, type_mode, strong, unreserved, functions, types, words))
                if type_mode:
                    continue
            else:
                out.append(value)
            type_mode = False
        return "".join(out)

    def _word(self, tokens, i, n, value, type_mode, strong, unreserved, functions, types, words) -> str:
        lower = value.lower()
        if value in self.tokens:
            return value
        if type_mode:
            return value if lower in types or lower in strong or lower in unreserved else self.name(lower, "ty")
        nxt = _next_significant(tokens, i)
        prev = _previous_significant(tokens, i)
        dotted = nxt == "." or prev == "."
        if nxt == "(" and not dotted and (lower in functions or lower in strong or lower in unreserved
                                           or lower in words):
            return value
        known = lower in self.names
        if not dotted and not known and (lower in strong or lower in unreserved or lower in words):
            return value
        if not dotted and lower in strong and nxt != "(":
            return value            # a reserved word is never a bare name
        return self.name(lower, _prefix(tokens, i))

    def label(self, text: str) -> str:
        """A node label (`Index Scan using orders_pkey on public.orders o`)."""
        return self.sql(text, words=LABEL_WORDS, numbers=False)

    def text(self, value: str) -> str:
        """Free text: known string literals and known names (whole words, or words built of them)."""
        if not value:
            return value
        if self.literals:
            def literal(m: re.Match) -> str:
                token = self.literals.get(m.group()[1:-1].replace("''", "'"))
                return m.group() if token is None else f"'{token}'"

            value = _STRING.sub(literal, value)

        def word(m: re.Match) -> str:
            w = m.group()
            if w in self.tokens:
                return w
            token = self.names.get(w) or self.names.get(w.lower())
            if token is not None:
                return token
            if "_" in w and any(len(p) >= 3 and (p in self.names or p.lower() in self.names)
                                for p in w.split("_")):
                return self.name(w, "n")
            return w

        value = _WORD.sub(word, value)
        for raw, token in self._quoted_names():
            value = value.replace(raw, token)
        return value

    def _quoted_names(self) -> list[tuple[str, str]]:
        return [(f'"{k}"', v) for k, v in self.names.items() if not _WORD.fullmatch(k)]

    # -- EXPLAIN documents ----------------------------------------------------------------------------------
    def document(self, doc: Any) -> Any:
        """A copy of an EXPLAIN (FORMAT JSON) document (list, plan object or text) with names and
        literals replaced; still an EXPLAIN document."""
        if isinstance(doc, (str, bytes, bytearray)):
            doc = json.loads(doc)
        self._learn_names(doc)
        return self._value(None, doc)

    def _learn_names(self, doc: Any) -> None:
        stack = [doc]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for k, v in item.items():
                    if k in NAME_KEYS and isinstance(v, str):
                        self.learn(v, NAME_KEYS[k])
                    elif k == "Subplan Name" and isinstance(v, str) and v.startswith("CTE "):
                        self.learn(v[4:], "q")
                    elif isinstance(v, (dict, list)):
                        stack.append(v)
            elif isinstance(item, list):
                stack.extend(item)

    def _value(self, key: str | None, value: Any) -> Any:
        # iterative copy: plans can be thousands of levels deep
        root: list[Any] = [None]
        stack: list[tuple[Any, Any, str | None, Any]] = [(root, 0, key, value)]
        while stack:
            holder, slot, k, v = stack.pop()
            if isinstance(v, dict):
                copy: dict[str, Any] = {}
                holder[slot] = copy
                for kk, vv in v.items():
                    if kk == "Settings" and isinstance(vv, dict):
                        copy[kk] = {sk: (self.sql(str(sv)) if sk in SETTINGS_WITH_NAMES else sv)
                                    for sk, sv in vv.items()}
                    else:
                        copy[kk] = None
                        stack.append((copy, kk, kk, vv))
            elif isinstance(v, list):
                items: list[Any] = [None] * len(v)
                holder[slot] = items
                for idx, vv in enumerate(v):
                    stack.append((items, idx, k, vv))
            elif isinstance(v, str):
                holder[slot] = self._string(k, v)
            else:
                holder[slot] = v
        return root[0]

    def _string(self, key: str | None, value: str) -> str:
        if key in NAME_KEYS:
            return self.name(value, NAME_KEYS[key])
        if key in KEEP_KEYS:
            return value
        if key == "Subplan Name":
            return "CTE " + self.name(value[4:], "q") if value.startswith("CTE ") else value
        if key in STATEMENT_KEYS:
            self.learn_statement(value)
        return self.sql(value)

    # -- the Report ------------------------------------------------------------------------------------------
    def report(self, report: Report) -> Report:
        """Every string of the Report through `text()` (in place; returns it)."""
        report.sections = [Section(key=s.key, title=self.text(s.title), columns=s.columns,
                                   rows=[self.deep(r) for r in s.rows], note=self.text(s.note))
                           for s in report.sections]
        report.findings = [self.finding(f) for f in report.findings]
        report.notes = [self.text(n) for n in report.notes]
        report.data = self.deep(report.data)
        report.server = {k: ("anonymized" if k in ("host", "database") and v else v)
                         for k, v in report.server.items()}
        return report

    def finding(self, f: Finding) -> Finding:
        return replace(f, title=self.text(f.title), object=self.text(f.object), detail=self.text(f.detail),
                       fix=self.text(f.fix), evidence=self.deep(f.evidence))

    def deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.deep(v) for v in value]
        return value


def _previous_word(tokens: list[tuple[str | None, str]], i: int) -> str | None:
    j = i - 1
    while j >= 0 and tokens[j][0] == "other" and tokens[j][1].isspace():
        j -= 1
    return tokens[j][1] if j >= 0 and tokens[j][0] == "word" else None


def _previous_significant(tokens: list[tuple[str | None, str]], i: int) -> str | None:
    j = i - 1
    while j >= 0 and tokens[j][0] in ("other", "comment") and tokens[j][1].isspace():
        j -= 1
    return tokens[j][1] if j >= 0 else None


def _next_significant(tokens: list[tuple[str | None, str]], i: int) -> str | None:
    j = i + 1
    while j < len(tokens) and tokens[j][0] == "other" and tokens[j][1].isspace():
        j += 1
    return tokens[j][1] if j < len(tokens) else None


def _prefix(tokens: list[tuple[str | None, str]], i: int) -> str:
    nxt = _next_significant(tokens, i)
    if nxt == "(":
        return "f"
    if nxt == ".":
        return "a"
    return "c"


def anonymize_proof(anon: Anonymizer, proof: Proof) -> Proof:
    """A what-if proof with its indexes, changed nodes, tables and message anonymized."""
    return replace(proof, indexes=[anon.sql(i) for i in proof.indexes],
                   changes=[(anon.label(a), anon.label(b)) for a, b in proof.changes],
                   tables=[anon.sql(t) for t in proof.tables],
                   error=anon.text(proof.error) if proof.error else proof.error,
                   rewrite=anon.sql(proof.rewrite) if proof.rewrite else proof.rewrite, documents=None)
