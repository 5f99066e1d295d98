"""One entry point for plan text of any form: JSON (raw or framed by psql) or the text format."""

from __future__ import annotations

from perftool.plans.json_plan import PlanError, parse_json
from perftool.plans.model import Plan
from perftool.plans.text_plan import parse_text_document, strip_psql

MAX_TEXT = 200_000_000


def parse_plan(text: str | bytes) -> Plan:
    """A Plan from EXPLAIN output as people have it: FORMAT JSON or TEXT, psql framing or none."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise PlanError("not an EXPLAIN plan: expected text")
    if len(text) > MAX_TEXT:
        raise PlanError(f"plan text is larger than {MAX_TEXT // 1_000_000} MB")
    body = strip_psql(text.lstrip("\ufeff"))
    if body.lstrip().startswith(("[", "{")):
        return parse_json(body)
    return parse_text(body)


def parse_text(text: str) -> Plan:
    """A Plan from EXPLAIN's text format (psql framing removed)."""
    try:
        doc = parse_text_document(text)
    except PlanError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        raise PlanError(f"not an EXPLAIN plan perftool can read: {type(exc).__name__}: {str(exc)[:120]}") from None
    return parse_json(doc, source="text")
