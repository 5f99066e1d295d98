"""EXPLAIN's text format (as psql prints it, or as the server log holds it) → the JSON document
EXPLAIN (FORMAT JSON) would have given, which `json_plan` turns into the model: one builder, so the
two forms give the same tree.

What is read: node lines (`->  Name on rel alias  (cost=… rows=… width=…) (actual time=…
rows=… loops=…)`, with or without costs, timing or ANALYZE, `(never executed)`), every detail
line EXPLAIN writes as `Key: value` (several per line when separated by two spaces), Buffers,
I/O Timings, WAL, Heap Blocks, Sort Method, Buckets/Batches, `Worker N:` blocks, InitPlan /
SubPlan / CTE labels, and the statement-level lines (Planning:, Planning Time, Triggers, JIT:,
Settings, Query Identifier, Execution Time). A line perftool does not know is kept in the node's
`extra` under its key. No PyPI text-plan parser was solid enough to rely on (PyPI's dataxplan
0.1.x reads text "best effort" and not psql's framing; pgplan reads JSON only).
"""

from __future__ import annotations

import re
from typing import Any

from perftool.plans.json_plan import PlanError

_NUM = r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"
_COST = re.compile(rf"\s*\(cost=({_NUM})\.\.({_NUM}) rows=({_NUM}) width=(\d+)\)")
_ACTUAL = re.compile(rf"\s*\(actual(?: time=({_NUM})\.\.({_NUM}))? rows=({_NUM}) loops=({_NUM})\)")
_NEVER = re.compile(r"\s*\(never executed\)")
_WORKER = re.compile(rf"Worker (\d+):\s*(?:actual(?: time=({_NUM})\.\.({_NUM}))? rows=({_NUM}) loops=({_NUM}))?"
                     r"\s*(.*)$")
_SUBPLAN = re.compile(r"^(InitPlan \d+(?: \(returns [^)]*\))?|SubPlan \d+|CTE .+)$")
_IDENT = r'(?:"(?:[^"]|"")*"|[^\s"]+)'
_TARGET = re.compile(rf"^(?P<rel>{_IDENT}(?:\.{_IDENT})?)(?:\s+(?P<alias>{_IDENT}))?$")
_UNITS = re.compile(rf"^({_NUM})\s*(kB|MB|GB|ms)?$")

_SCANS = ("Seq Scan", "Sample Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Bitmap Index Scan",
          "Tid Scan", "Tid Range Scan", "Subquery Scan", "Function Scan", "Table Function Scan", "Values Scan",
          "CTE Scan", "Named Tuplestore Scan", "WorkTable Scan", "Foreign Scan", "Custom Scan")
_SCANS_LONGEST_FIRST = tuple(sorted(_SCANS, key=len, reverse=True))
_JOIN = re.compile(r"^(Hash|Merge|Nested Loop)(?: (Left|Right|Full|Semi|Anti|Right Anti|Right Semi))?(?: Join)?$")
_JOIN_TYPES = {"Hash": "Hash Join", "Merge": "Merge Join", "Nested Loop": "Nested Loop"}
_AGG = {"Aggregate": "Plain", "HashAggregate": "Hashed", "GroupAggregate": "Sorted", "MixedAggregate": "Mixed"}
_MODIFY = ("Insert", "Update", "Delete", "Merge")
NODE_TYPES = frozenset((*_SCANS, "Result", "ProjectSet", "Append", "Merge Append", "Recursive Union", "BitmapAnd",
                        "BitmapOr", "Gather", "Gather Merge", "Materialize", "Memoize", "Sort", "Incremental Sort",
                        "Group", "Unique", "Limit", "LockRows", "WindowAgg", "Hash", "SetOp", "Nested Loop",
                        "Hash Join", "Merge Join", "Aggregate", "ModifyTable", "Foreign Insert"))
_LIST_KEYS = {"Output", "Sort Key", "Group Key", "Presorted Key", "Hash Key", "Partition Key"}
_COUNTS = {"Rows Removed by Filter", "Rows Removed by Join Filter", "Rows Removed by Index Recheck",
           "Heap Fetches", "Workers Planned", "Workers Launched", "Subplans Removed", "Index Searches",
           "Planned Partitions", "Tuples Inserted", "Conflicting Tuples", "Functions"}
_BOOLS = {"Inner Unique", "Single Copy", "Async Capable"}
_BUF_KINDS = {"shared": "Shared", "local": "Local", "temp": "Temp"}
_BUF_FIELDS = {"hit": "Hit", "read": "Read", "dirtied": "Dirtied", "written": "Written"}


def strip_psql(text: str) -> str:
    """The plan inside psql's framing: the QUERY PLAN header and its dashes, the `(N rows)` footer,
    the one-space margin and the `+` that ends each continued line of a multi-line value."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    framed = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == "QUERY PLAN" and i + 1 < len(lines) and set(lines[i + 1].strip()) <= {"-", "+"} \
                and lines[i + 1].strip():
            framed = True
            continue
        if framed and stripped and set(stripped) <= {"-", "+"} and out == []:
            continue
        if re.fullmatch(r"\(\d+ rows?\)", stripped):
            continue
        if framed:
            line = line[1:] if line.startswith(" ") else line
            body = line.rstrip()
            if body.endswith("+"):
                line = body[:-1]
        out.append(line.rstrip())
    while out and not out[-1].strip():
        out.pop()
    while out and not out[0].strip():
        out.pop(0)
    return "\n".join(out)


def parse_text_document(text: str) -> dict[str, Any]:
    """The JSON-shaped document of a text plan (psql framing already removed)."""
    lines = [ln.replace("\t", "    ") for ln in text.split("\n") if ln.strip()]
    if not lines:
        raise PlanError("not an EXPLAIN plan: the text is empty")
    margin = min(len(ln) - len(ln.lstrip(" ")) for ln in lines)
    lines = [ln[margin:] for ln in lines]
    doc: dict[str, Any] = {}
    root: dict[str, Any] | None = None
    # stack of (indent of the node's "->" or name, node dict); detail lines attach to the node
    # whose indent is the nearest smaller one
    nodes: list[tuple[int, dict[str, Any]]] = []
    pending_subplan: tuple[int, str] | None = None
    block: tuple[int, dict[str, Any], str] | None = None    # open Worker / JIT / Planning block
    for raw in lines:
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        if block is not None and indent <= block[0]:
            block = None
        is_node = line.startswith("->")
        if root is None and not is_node:
            if _top_level(doc, line):
                continue
            root = _header(line)
            nodes = [(indent, root)]
            continue
        if is_node:
            if root is None:
                raise PlanError("not an EXPLAIN plan: a child node before the top node")
            body = line[2:].lstrip()
            node_indent = indent + 2 + (len(line) - 2 - len(line[2:].lstrip()))
            node = _header(body)
            while len(nodes) > 1 and nodes[-1][0] >= indent:
                nodes.pop()
            parent = nodes[-1][1]
            if pending_subplan is not None and pending_subplan[0] < indent:
                label = pending_subplan[1]
                node["Parent Relationship"] = "SubPlan" if label.startswith("SubPlan") else "InitPlan"
                node["Subplan Name"] = label
            pending_subplan = None
            parent.setdefault("Plans", []).append(node)
            nodes.append((node_indent, node))
            block = None
            continue
        if indent == 0 or root is None:
            # a statement-level line after the tree
            if _top_level(doc, line):
                block = (indent, doc, "top:" + line.rstrip(":")) if line.endswith(":") else None
                continue
        if block is not None:
            _block_line(block, line)
            continue
        while len(nodes) > 1 and nodes[-1][0] >= indent:
            nodes.pop()
        owner = nodes[-1][1]
        if _SUBPLAN.match(line):
            pending_subplan = (indent, line)
            continue
        worker = _WORKER.match(line)
        if worker:
            entry: dict[str, Any] = {"Worker Number": int(worker.group(1))}
            if worker.group(4) is not None:
                if worker.group(2) is not None:
                    entry["Actual Startup Time"] = float(worker.group(2))
                    entry["Actual Total Time"] = float(worker.group(3))
                entry["Actual Rows"] = _number(worker.group(4))
                entry["Actual Loops"] = _number(worker.group(5))
            owner.setdefault("Workers", []).append(entry)
            if worker.group(6):
                _details(entry, worker.group(6))
            block = (indent, entry, "worker")
            continue
        if line == "JIT:":
            jit: dict[str, Any] = {}
            owner.setdefault("_jit", jit)
            block = (indent, jit, "jit")
            continue
        _details(owner, line)
    if root is None:
        raise PlanError("not an EXPLAIN plan: no plan node found")
    _finish(root)
    doc["Plan"] = root
    return doc


def _top_level(doc: dict[str, Any], line: str) -> bool:
    """Statement-level lines: Planning Time, Execution Time, Trigger …, Settings, JIT:, Planning:."""
    key, sep, value = line.partition(": ")
    if line in ("JIT:", "Planning:"):
        doc["JIT" if line == "JIT:" else "Planning"] = {}
        return True
    if not sep:
        return False
    if key in ("Planning Time", "Execution Time", "Total runtime"):
        doc["Execution Time" if key != "Planning Time" else key] = _quantity(value)
        return True
    if key == "Settings":
        doc["Settings"] = _settings(value)
        return True
    if key == "Query Identifier":
        doc["Query Identifier"] = int(value) if value.lstrip("-").isdigit() else value
        return True
    if key.startswith("Trigger ") and "time=" in value or key.startswith("Trigger ") and "calls=" in value:
        name = key[len("Trigger "):]
        relation = None
        if name.startswith("for constraint "):
            name = name[len("for constraint "):]
        if " on " in name:
            name, relation = name.rsplit(" on ", 1)
        entry: dict[str, Any] = {"Trigger Name": name}
        if relation:
            entry["Relation"] = relation
        pairs = dict(p.split("=", 1) for p in value.split() if "=" in p)
        if "time" in pairs:
            entry["Time"] = _number(pairs["time"])
        if "calls" in pairs:
            entry["Calls"] = _number(pairs["calls"])
        doc.setdefault("Triggers", []).append(entry)
        return True
    if key in ("Serialization", "Memory"):
        doc[key] = value
        return True
    return False


def _block_line(block: tuple[int, dict[str, Any], str], line: str) -> None:
    _indent, target, kind = block
    if kind == "top:JIT":
        target = target.setdefault("JIT", {}) if "JIT" not in target else target["JIT"]
        _jit_line(target, line)
    elif kind == "top:Planning":
        _details(target.setdefault("Planning", {}), line)
    elif kind == "jit":
        _jit_line(target, line)
    elif kind == "worker":
        if line == "JIT:":
            return
        if line.startswith(("Functions:", "Options:", "Timing:")):
            _jit_line(target.setdefault("JIT", {}), line)
        else:
            _details(target, line)


def _jit_line(jit: dict[str, Any], line: str) -> None:
    key, _, value = line.partition(": ")
    if key == "Functions":
        jit["Functions"] = _number(value)
    elif key == "Options":
        jit["Options"] = {k.strip(): v.strip() == "true" for k, v in
                          (part.strip().rsplit(" ", 1) for part in value.split(",") if " " in part.strip())}
    elif key == "Timing":
        timing = {}
        for part in value.split(","):
            bits = part.strip().split()
            if len(bits) >= 2:
                try:
                    timing[bits[0]] = float(bits[1])
                except ValueError:
                    continue
        jit["Timing"] = timing


def _header(text: str) -> dict[str, Any]:
    """A node line: its name, target, estimates and actuals."""
    node: dict[str, Any] = {}
    rest = text
    # the substring tests are the fast path: most lines have costs and actuals, none "never executed"
    m_cost = _COST.search(rest) if "(cost=" in rest else None
    m_actual = _ACTUAL.search(rest) if "(actual" in rest else None
    m_never = _NEVER.search(rest) if "(never executed)" in rest else None
    cut = len(rest)
    for m in (m_cost, m_actual, m_never):
        if m is not None and m.start() < cut:
            cut = m.start()
    name = rest[:cut].strip()
    if m_cost:
        node["Startup Cost"] = float(m_cost.group(1))
        node["Total Cost"] = float(m_cost.group(2))
        node["Plan Rows"] = _number(m_cost.group(3))
        node["Plan Width"] = int(m_cost.group(4))
    if m_actual:
        if m_actual.group(1) is not None:
            node["Actual Startup Time"] = float(m_actual.group(1))
            node["Actual Total Time"] = float(m_actual.group(2))
        node["Actual Rows"] = _number(m_actual.group(3))
        node["Actual Loops"] = _number(m_actual.group(4))
    elif m_never:
        node["Actual Startup Time"] = 0.0
        node["Actual Total Time"] = 0.0
        node["Actual Rows"] = 0
        node["Actual Loops"] = 0
    if not name:
        raise PlanError(f"not an EXPLAIN plan: a node line without a name: {text[:80]!r}")
    _name(node, name)
    if node["Node Type"] not in NODE_TYPES and not (m_cost or m_actual or m_never):
        raise PlanError(f"not an EXPLAIN plan: {text[:60]!r} is not a plan node")
    return node


def _name(node: dict[str, Any], name: str) -> None:
    node["Parallel Aware"] = False
    if name.startswith("Parallel "):
        node["Parallel Aware"], name = True, name[len("Parallel "):]
    if name.startswith("Async "):
        node["Async Capable"], name = True, name[len("Async "):]
    target = None
    for kind in _SCANS_LONGEST_FIRST if "Scan" in name else ():
        if name == kind or name.startswith(kind + " "):
            node["Node Type"] = kind
            rest = name[len(kind):].strip()
            if kind == "Custom Scan" and rest.startswith("("):
                provider, _, rest = rest[1:].partition(")")
                node["Custom Plan Provider"] = provider
                rest = rest.strip()
            if rest.startswith("Backward"):
                node["Scan Direction"], rest = "Backward", rest[len("Backward"):].strip()
            elif kind in ("Index Scan", "Index Only Scan"):
                node["Scan Direction"] = "Forward"
            if rest.startswith("using "):
                index, _, rest = rest[len("using "):].partition(" on ")
                node["Index Name"] = _unquote(index.strip())
                rest = rest.strip()
            elif rest.startswith("on "):
                rest = rest[3:].strip()
            target = rest
            break
    else:
        for prefix in ("Partial ", "Finalize "):
            if name.startswith(prefix) and name[len(prefix):] in _AGG:
                node["Partial Mode"], name = prefix.strip(), name[len(prefix):]
        join = _JOIN.match(name)
        modify = next((op for op in _MODIFY if name == op or name.startswith(op + " on ")), None)
        if name in _AGG:
            node["Node Type"], node["Strategy"] = "Aggregate", _AGG[name]
            node.setdefault("Partial Mode", "Simple")
        elif join and (join.group(1) == "Nested Loop" or name.endswith("Join")):
            node["Node Type"] = _JOIN_TYPES[join.group(1)]
            node["Join Type"] = join.group(2) or "Inner"
        elif modify:
            node["Node Type"], node["Operation"] = "ModifyTable", modify
            target = name[len(modify) + 4:].strip() if name != modify else None
        elif name.startswith(("HashSetOp ", "SetOp ")):
            node["Node Type"] = "SetOp"
            node["Strategy"] = "Hashed" if name.startswith("Hash") else "Sorted"
            node["Command"] = name.split(" ", 1)[1]
        else:
            node["Node Type"] = name
    if target:
        _target(node, target)


def _target(node: dict[str, Any], target: str) -> None:
    kind = node["Node Type"]
    m = _TARGET.match(target)
    if not m:
        node["Alias"] = target
        return
    rel, alias = m.group("rel"), m.group("alias")
    if kind == "Bitmap Index Scan":
        node["Index Name"] = _unquote(rel)
        return
    if kind in ("CTE Scan", "WorkTable Scan"):
        node["CTE Name"] = _unquote(rel)
        node["Alias"] = _unquote(alias or rel)
        return
    if kind == "Function Scan":
        node["Function Name"] = _unquote(rel)
        node["Alias"] = _unquote(alias or rel)
        return
    if kind in ("Subquery Scan", "Values Scan", "Table Function Scan", "Named Tuplestore Scan"):
        node["Alias"] = _unquote(alias or rel)
        return
    schema, _, table = _split_qualified(rel)
    if schema:
        node["Schema"] = schema
    node["Relation Name"] = table
    node["Alias"] = _unquote(alias) if alias else table


def _split_qualified(rel: str) -> tuple[str | None, str, str]:
    parts = re.findall(r'"(?:[^"]|"")*"|[^."]+', rel)
    if len(parts) >= 2:
        return _unquote(parts[-2]), ".", _unquote(parts[-1])
    return None, "", _unquote(rel)


def _unquote(name: str) -> str:
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name


def _details(node: dict[str, Any], line: str) -> None:
    """One detail line: `Key: value`, or several `Key: value` separated by two spaces."""
    key, sep, value = line.partition(": ")
    if not sep:
        key, sep, value = line.partition(":")
        if not sep:
            node.setdefault("_lines", []).append(line)
            return
    key, value = key.strip(), value.strip()
    if key == "Buffers":
        _buffers(node, value)
        return
    if key == "I/O Timings":
        _io(node, value)
        return
    if key == "WAL":
        for part in value.split():
            k, _, v = part.partition("=")
            name = {"records": "WAL Records", "fpi": "WAL FPI", "bytes": "WAL Bytes"}.get(k)
            if name:
                node[name] = _number(v)
        return
    if key == "Heap Blocks":
        for part in value.split():
            k, _, v = part.partition("=")
            if k in ("exact", "lossy"):
                node[f"{k.title()} Heap Blocks"] = _number(v)
        return
    if key in _LIST_KEYS:
        node[key] = _split_list(value)
        return
    if key in ("Filter", "Join Filter", "Index Cond", "Recheck Cond", "Hash Cond", "Merge Cond", "One-Time Filter",
               "TID Cond", "Run Condition", "Order By", "Cache Key", "Sampling", "Conflict Filter", "Cache Mode",
               "Conflict Resolution", "Conflict Arbiter Indexes", "Repeatable Seed", "Table Function Call"):
        node[key] = value
        return
    # several "Key: value" pairs on one line (Sort Method … Memory: …, Buckets … Batches …)
    pieces = [p for p in re.split(r"\s{2,}", line.strip()) if p]
    for piece in pieces:
        k, s, v = piece.partition(": ")
        if not s:
            node.setdefault("_lines", []).append(piece)
            continue
        _pair(node, k.strip(), v.strip())


def _pair(node: dict[str, Any], key: str, value: str) -> None:
    kind = node.get("Node Type")
    if key == "Sort Method":
        node["Sort Method"] = value
    elif key in ("Memory", "Disk") and ("Sort Method" in node):
        node["Sort Space Used"] = _quantity(value)
        node["Sort Space Type"] = key
    elif key == "Buckets":
        main, orig = _originally(value)
        node["Hash Buckets"], node["Original Hash Buckets"] = main, orig
    elif key == "Batches":
        main, orig = _originally(value)
        if kind == "Hash":
            node["Hash Batches"], node["Original Hash Batches"] = main, orig
        else:
            node["HashAgg Batches"] = main
    elif key in ("Memory Usage", "Peak Memory Usage"):
        node["Peak Memory Usage"] = _quantity(value)
    elif key == "Disk Usage":
        node["Disk Usage"] = _quantity(value)
    elif key in ("Hits", "Misses", "Evictions", "Overflows"):
        node[f"Cache {key}"] = _number(value)
    elif key in _COUNTS:
        node[key] = _number(value)
    elif key in _BOOLS:
        node[key] = value == "true"
    else:
        node[key] = _quantity(value) if _UNITS.match(value) else value


def _originally(value: str) -> tuple[Any, Any]:
    m = re.match(r"(\d+)(?:\s+\(originally (\d+)\))?", value)
    if not m:
        return value, value
    main = int(m.group(1))
    return main, int(m.group(2)) if m.group(2) else main


def _buffers(node: dict[str, Any], value: str) -> None:
    for group in value.split(","):
        words = group.split()
        if not words:
            continue
        kind = _BUF_KINDS.get(words[0])
        if kind is None:
            continue
        for pair in words[1:]:
            k, _, v = pair.partition("=")
            f = _BUF_FIELDS.get(k)
            if f:
                node[f"{kind} {f} Blocks"] = _number(v)


def _io(node: dict[str, Any], value: str) -> None:
    """`read=1.2 write=0.3` (PG ≤ 14), `shared/local read=…, temp read=…` (PG 15/16),
    `shared read=…, local …, temp …` (PG 17+)."""
    for group in value.split(","):
        words = group.split()
        if not words:
            continue
        kind = words[0] if "=" not in words[0] else ""
        pairs = words[1:] if kind else words
        for pair in pairs:
            k, _, v = pair.partition("=")
            if k not in ("read", "write"):
                continue
            prefix = {"": "", "shared/local": "", "shared": "Shared ", "local": "Local ", "temp": "Temp "}.get(kind)
            if prefix is None:
                continue
            node[f"{prefix}I/O {k.title()} Time"] = _number(v)


def _split_list(value: str) -> list[str]:
    """`a, (b, c), d` → ['a', '(b, c)', 'd']: commas inside brackets and quotes stay."""
    out, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(value):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(value[start:i].strip())
            start = i + 1
    out.append(value[start:].strip())
    return [x for x in out if x]


def _settings(value: str) -> dict[str, str]:
    out = {}
    for part in _split_list(value):
        k, _, v = part.partition(" = ")
        v = v.strip()
        if len(v) >= 2 and v.startswith("'") and v.endswith("'"):
            v = v[1:-1].replace("''", "'")
        out[k.strip()] = v
    return out


def _number(text: str) -> float | int:
    if text.isascii() and text.isdigit():      # the usual case, without the exception machinery
        return int(text)
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise PlanError(f"not an EXPLAIN plan: {text[:40]!r} is not a number") from None


def _quantity(text: str) -> Any:
    m = _UNITS.match(text.strip())
    if not m:
        return text
    return _number(m.group(1))


def _finish(root: dict[str, Any]) -> None:
    """Parent relationships as EXPLAIN (FORMAT JSON) names them, from each child's position."""
    stack = [root]
    while stack:
        node = stack.pop()
        node.pop("_lines", None)
        jit = node.pop("_jit", None)
        if jit is not None:
            node["JIT"] = jit
        children = node.get("Plans", [])
        plain = [c for c in children if "Parent Relationship" not in c]
        kind = node.get("Node Type")
        for i, child in enumerate(plain):
            if kind in ("Append", "Merge Append", "BitmapAnd", "BitmapOr"):
                child["Parent Relationship"] = "Member"
            elif kind == "Subquery Scan":
                child["Parent Relationship"] = "Subquery"
            else:
                child["Parent Relationship"] = "Outer" if i == 0 else "Inner"
        stack.extend(children)
