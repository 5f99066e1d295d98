"""EXPLAIN (FORMAT JSON) → `Plan`. Also the builder the text parser uses: it produces the same
key names, so both forms become the same tree.

Any input is accepted: a JSON string (psql framing removed by `plans.parse`), the decoded list,
or one plan object. A document that is not a plan raises `PlanError` (a clean input error), never
another exception.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING
from dataclasses import fields as dataclass_fields
from typing import Any

from perftool.db.errors import InputError
from perftool.gc_pause import gc_paused
from perftool.plans.model import (
    BUFFER_KEYS,
    IO_KEYS,
    Buffers,
    Jit,
    Plan,
    PlanNode,
    Trigger,
    Worker,
    measure,
)


class PlanError(InputError):
    """The text is not an EXPLAIN plan perftool can read (exit 2)."""


_STR = {
    "parent_relationship": "Parent Relationship", "subplan_name": "Subplan Name", "relation": "Relation Name",
    "schema": "Schema", "alias": "Alias", "index_name": "Index Name", "cte_name": "CTE Name",
    "function_name": "Function Name", "join_type": "Join Type", "strategy": "Strategy",
    "partial_mode": "Partial Mode", "operation": "Operation", "scan_direction": "Scan Direction",
    "filter": "Filter", "join_filter": "Join Filter", "index_cond": "Index Cond", "recheck_cond": "Recheck Cond",
    "hash_cond": "Hash Cond", "merge_cond": "Merge Cond", "sort_method": "Sort Method",
    "sort_space_type": "Sort Space Type",
}
_FLOAT = {
    "startup_cost": "Startup Cost", "total_cost": "Total Cost", "plan_rows": "Plan Rows",
    "actual_startup_ms": "Actual Startup Time", "actual_total_ms": "Actual Total Time",
    "actual_rows": "Actual Rows", "loops": "Actual Loops", "sort_space_kb": "Sort Space Used",
    "peak_memory_kb": "Peak Memory Usage", "disk_usage_kb": "Disk Usage",
}
_COUNT = {
    "removed_by_filter": "Rows Removed by Filter", "removed_by_join_filter": "Rows Removed by Join Filter",
    "removed_by_recheck": "Rows Removed by Index Recheck", "heap_fetches": "Heap Fetches",
    "exact_heap_blocks": "Exact Heap Blocks", "lossy_heap_blocks": "Lossy Heap Blocks",
}
_INT = {
    "plan_width": "Plan Width", "hash_buckets": "Hash Buckets", "hash_batches": "Hash Batches",
    "original_hash_batches": "Original Hash Batches", "hashagg_batches": "HashAgg Batches",
    "workers_planned": "Workers Planned", "workers_launched": "Workers Launched",
}
_LISTS = {"sort_key": "Sort Key", "group_key": "Group Key", "output": "Output"}
_KNOWN = ({"Node Type", "Plans", "Workers", "Parallel Aware", "WAL Records", "WAL Bytes", "WAL FPI"}
          | set(_STR.values()) | set(_FLOAT.values()) | set(_COUNT.values()) | set(_INT.values())
          | set(_LISTS.values()) | set(BUFFER_KEYS.values()) | {k for ks in IO_KEYS.values() for k in ks})
MAX_NODES = 1_000_000
_NODE_DEFAULTS = {f.name: f.default for f in dataclass_fields(PlanNode) if f.default is not MISSING}
_NODE_FACTORIES = {f.name for f in dataclass_fields(PlanNode) if f.default is MISSING} - {"node_type"}
assert _NODE_FACTORIES == {"sort_key", "group_key", "workers", "output", "extra", "children", "buffers"}
# EXPLAIN key → (how to read it, PlanNode / Buffers attribute): one pass over each node's keys
_FIELDS: dict[str, tuple[str, str]] = {
    **{key: ("str", attr) for attr, key in _STR.items()}, **{key: ("float", attr) for attr, key in _FLOAT.items()},
    **{key: ("count", attr) for attr, key in _COUNT.items()}, **{key: ("int", attr) for attr, key in _INT.items()},
    **{key: ("list", attr) for attr, key in _LISTS.items()},
    **{key: ("buffer", attr) for attr, key in BUFFER_KEYS.items()},
    **{key: ("io", attr) for attr, keys in IO_KEYS.items() for key in keys},
}


def parse_json(doc: Any, *, source: str = "json") -> Plan:
    """A Plan from EXPLAIN (FORMAT JSON) output: text, the decoded list, or one plan object."""
    if isinstance(doc, (bytes, bytearray)):
        doc = doc.decode("utf-8", errors="replace")
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except (ValueError, RecursionError) as exc:
            raise PlanError(f"not an EXPLAIN plan: invalid JSON ({str(exc).splitlines()[0][:120]})") from None
    if isinstance(doc, list):
        if len(doc) != 1:
            raise PlanError(f"not an EXPLAIN plan: a JSON list of {len(doc)} items (EXPLAIN gives one)")
        doc = doc[0]
    if not isinstance(doc, dict) or not isinstance(doc.get("Plan"), dict):
        raise PlanError("not an EXPLAIN plan: no \"Plan\" object (run EXPLAIN (FORMAT JSON) …)")
    try:
        with gc_paused():
            return measure(_plan(doc, source))
    except PlanError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError, RecursionError) as exc:
        raise PlanError(f"not an EXPLAIN plan perftool can read: {type(exc).__name__}: {str(exc)[:120]}") from None


def _plan(doc: dict, source: str) -> Plan:
    plan = Plan(root=_tree(doc["Plan"]), source=source)
    plan.planning_ms = _float(doc.get("Planning Time"))
    plan.execution_ms = _float(doc.get("Execution Time", doc.get("Total Runtime")))
    planning = doc.get("Planning")
    if isinstance(planning, dict):
        plan.planning_buffers = _buffers(planning)
    for t in _list(doc.get("Triggers")):
        if isinstance(t, dict):
            plan.triggers.append(Trigger(name=str(t.get("Trigger Name") or t.get("Constraint Name") or "?"),
                                         relation=_str(t.get("Relation")), time_ms=_float(t.get("Time")),
                                         calls=_float(t.get("Calls"))))
    jit = doc.get("JIT")
    if isinstance(jit, dict):
        plan.jit = _jit(jit)
    settings = doc.get("Settings")
    if isinstance(settings, dict):
        plan.settings = {str(k): str(v) for k, v in settings.items()}
    qid = doc.get("Query Identifier")
    if isinstance(qid, (int, str)) and str(qid).lstrip("-").isdigit():
        plan.query_identifier = int(qid)
    return plan


def _tree(top: dict) -> PlanNode:
    """The node tree, built without recursion (plans can be thousands of levels deep)."""
    root = _node(top)
    stack = [(root, top)]
    count = 1
    while stack:
        node, raw = stack.pop()
        for child in _list(raw.get("Plans")):
            if not isinstance(child, dict):
                raise PlanError("not an EXPLAIN plan: an entry of \"Plans\" is not a plan node")
            count += 1
            if count > MAX_NODES:
                raise PlanError(f"plan has more than {MAX_NODES} nodes")
            built = _node(child)
            node.children.append(built)
            stack.append((built, child))
    return root


def _node(raw: dict) -> PlanNode:
    node_type = raw.get("Node Type")
    if not isinstance(node_type, str) or not node_type:
        raise PlanError("not an EXPLAIN plan: a node without \"Node Type\"")
    node = PlanNode.__new__(PlanNode)          # the dataclass's __init__ with its 70 fields, without the call cost
    values = node.__dict__
    values.update(_NODE_DEFAULTS)
    values.update(node_type=node_type, sort_key=[], group_key=[], workers=[], output=[], children=[],
                  buffers=Buffers())
    extra: dict[str, Any] = {}
    buffers = values["buffers"].__dict__
    for key, value in raw.items():
        spec = _FIELDS.get(key)
        if spec is None:
            if key not in _KNOWN:
                extra[key] = value
            continue
        kind, attr = spec
        if kind == "str":
            values[attr] = value if type(value) is str else _str(value)
            continue
        if kind == "list":
            values[attr] = [str(v) for v in value] if isinstance(value, list) else \
                ([str(value)] if isinstance(value, str) else [])
            continue
        # numbers as EXPLAIN writes them take the fast path; anything else goes through _float
        tv = type(value)
        number = float(value) if tv is int or (tv is float and value - value == 0.0) else _float(value)
        if kind == "float":
            values[attr] = number
        elif kind == "count":
            values[attr] = number or 0.0
        elif kind == "int":
            values[attr] = None if number is None else int(number)
        elif kind == "buffer":
            buffers[attr] = int(number or 0)
        elif kind == "io":
            buffers[attr] += number or 0.0
    node.parallel_aware = raw.get("Parallel Aware") is True
    node.wal_records = int(_float(raw.get("WAL Records")) or 0)
    node.wal_bytes = int(_float(raw.get("WAL Bytes")) or 0)
    for w in _list(raw.get("Workers")):
        if isinstance(w, dict):
            node.workers.append(Worker(number=int(_float(w.get("Worker Number")) or 0),
                                       startup_ms=_float(w.get("Actual Startup Time")),
                                       total_ms=_float(w.get("Actual Total Time")),
                                       rows=_float(w.get("Actual Rows")),
                                       loops=_float(w.get("Actual Loops")) or 0.0,
                                       buffers=_buffers(w)))
    node.extra = extra
    return node


def _buffers(raw: dict) -> Buffers:
    b = Buffers()
    for attr, key in BUFFER_KEYS.items():
        setattr(b, attr, int(_float(raw.get(key)) or 0))
    for attr, keys in IO_KEYS.items():
        setattr(b, attr, sum(_float(raw.get(k)) or 0.0 for k in keys))
    return b


def _jit(raw: dict) -> Jit:
    timing: dict = raw["Timing"] if isinstance(raw.get("Timing"), dict) else {}
    options: dict = raw["Options"] if isinstance(raw.get("Options"), dict) else {}

    def t(key: str) -> float:
        value = timing.get(key)
        if isinstance(value, dict):          # PG17+: {"Generation": {"Deform": …, "Total": …}}
            value = value.get("Total")
        return _float(value) or 0.0

    return Jit(functions=int(_float(raw.get("Functions")) or 0),
               options={str(k): v is True or str(v).lower() == "true" for k, v in options.items()},
               generation_ms=t("Generation"), inlining_ms=t("Inlining"), optimization_ms=t("Optimization"),
               emission_ms=t("Emission"), total_ms=t("Total"))


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return out if math.isfinite(out) else None


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []
