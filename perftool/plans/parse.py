"""One entry point for plan text of any form: JSON (raw or framed by psql) or the text format."""

from __future__ import annotations

import json
from typing import Any

from perftool.gc_pause import gc_paused
from perftool.plans.json_plan import PlanError, parse_json
from perftool.plans.model import Plan
from perftool.plans.text_plan import parse_text_document, strip_psql

MAX_TEXT = 200_000_000


def parse_plan(text: str | bytes) -> Plan:
    """A Plan from EXPLAIN output as people have it: FORMAT JSON or TEXT, psql framing or none."""
    with gc_paused():
        doc, source = plan_document(text)
        return parse_json(doc, source=source)


def plan_document(text: str | bytes) -> tuple[Any, str]:
    """The EXPLAIN (FORMAT JSON) document of plan text of any form, and which form it was
    (json or text): what `parse_plan` builds the Plan from."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise PlanError("not an EXPLAIN plan: expected text")
    if len(text) > MAX_TEXT:
        raise PlanError(f"plan text is larger than {MAX_TEXT // 1_000_000} MB")
    body = strip_psql(text.lstrip("\ufeff"))
    if body.lstrip().startswith(("[", "{")):
        try:
            return json.loads(body), "json"
        except (ValueError, RecursionError) as exc:
            raise PlanError(f"not an EXPLAIN plan: invalid JSON ({str(exc).splitlines()[0][:120]})") from None
    return text_document(body), "text"


def parse_text(text: str) -> Plan:
    """A Plan from EXPLAIN's text format (psql framing removed)."""
    return parse_json(text_document(text), source="text")


def text_document(text: str) -> Any:
    """EXPLAIN's text format (psql framing removed) as the JSON document EXPLAIN would have given."""
    try:
        return parse_text_document(text)
    except PlanError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        raise PlanError(f"not an EXPLAIN plan perftool can read: {type(exc).__name__}: {str(exc)[:120]}") from None
