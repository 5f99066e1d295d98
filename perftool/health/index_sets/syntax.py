"""The text forms inside an index set: identifiers (`name`, `"Name"`, `schema.table`) and the
compact column syntax (`lower(email)`, `created_at DESC NULLS LAST`, `code text_pattern_ops`,
`title COLLATE "C"`)."""

from __future__ import annotations

import re

from perftool.health.index_sets.model import DeclaredColumn

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
IDENT_ONLY = re.compile(rf"^{_IDENT}$")
QUALIFIED = re.compile(rf"^(?:(?P<schema>{_IDENT})\.)?(?P<name>{_IDENT})$")
_COLUMN_TEXT = re.compile(
    rf"^(?P<head>.+?)"
    rf"(?:\s+COLLATE\s+(?P<collation>{_IDENT}))?"
    r"(?:\s+(?P<opclass>[A-Za-z_][A-Za-z0-9_$]*_ops))?"
    r"(?:\s+(?P<order>ASC|DESC))?"
    r"(?:\s+NULLS\s+(?P<nulls>FIRST|LAST))?\s*$",
    re.IGNORECASE | re.DOTALL)


def fold_ident(text: str) -> str:
    """SQL identifier rules: "Quoted" keeps its case, bare names fold to lower case."""
    text = text.strip()
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def strip_outer_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth, quote = 0, False
    for ch in text:
        if ch == "'":
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote


def parse_column(text: str) -> DeclaredColumn:
    """`name`, `"Name"`, `lower(email)`, `created_at DESC NULLS LAST`, `code text_pattern_ops`,
    `title COLLATE "C"` → DeclaredColumn. Raises ValueError for an empty column."""
    text = text.strip()
    if not text:
        raise ValueError("a column must not be empty")
    m = _COLUMN_TEXT.match(text)
    head = (m["head"] if m else text).strip()
    column = expression = None
    if IDENT_ONLY.match(head):
        column = fold_ident(head)
    else:
        expression = strip_outer_parens(head)
        if not expression:
            raise ValueError(f"column {text!r} has no name or expression")
    order = (m["order"] or "").upper() if m else ""
    nulls = (m["nulls"] or "").upper() if m else ""
    collation = m["collation"] if m else None
    return DeclaredColumn(column=column, expression=expression, descending=order == "DESC",
                          nulls_first=None if not nulls else nulls == "FIRST",
                          opclass=(m["opclass"].lower() if m and m["opclass"] else None),
                          collation=fold_ident(collation) if collation else None)

