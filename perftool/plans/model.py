"""The plan model: EXPLAIN output as a typed node tree, with the numbers people misread computed.

`Plan` is one EXPLAIN result (planning and execution time, triggers, JIT, settings) around a tree
of `PlanNode`s. Both parsers (`plans.json_plan`, `plans.text_plan`) fill the same model from
EXPLAIN's JSON key names, so a plan read from JSON and one read from psql's text form are the same
tree. `measure()` then derives, for every node:

- `rows_total` = rows per loop × loops; `removed_*_total` likewise (EXPLAIN prints both per loop);
- `inclusive_ms`: the node's time with its children. Outside a parallel section that is actual
  total time × loops. Inside one (below Gather / Gather Merge) `loops` counts the processes that ran
  the node (workers and the leader), which ran at the same time: summing them would count wall
  time several times over. With per-worker figures (VERBOSE) the node's wall time is taken as its
  slowest process (each worker's time × loops, the leader's = the rest); without them, as the total
  over the processes that ran the section's top node. Either way the node is marked
  `time_uncertain`: perftool never divides by *planned* workers;
- `exclusive_ms` = inclusive − the children's inclusive (never below 0). A CTE's time is counted
  where its CTE Scan reads it, not in the node that owns the CTE;
- `estimate_factor`: actual rows per loop vs planned rows, ≥ 1, with `underestimated` saying which
  way (a row count of 0 counts as 1);
- `exclusive_buffers` (computed when asked): EXPLAIN's buffer counts include the children's;
  this is the node's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

BUFFER_KEYS = {
    "shared_hit": "Shared Hit Blocks", "shared_read": "Shared Read Blocks",
    "shared_dirtied": "Shared Dirtied Blocks", "shared_written": "Shared Written Blocks",
    "local_hit": "Local Hit Blocks", "local_read": "Local Read Blocks",
    "local_dirtied": "Local Dirtied Blocks", "local_written": "Local Written Blocks",
    "temp_read": "Temp Read Blocks", "temp_written": "Temp Written Blocks",
}
# I/O timing keys by server version: PG ≤ 16 "I/O Read Time" (shared + local), PG 17+ per kind
IO_KEYS = {
    "io_read_ms": ("I/O Read Time", "Shared I/O Read Time", "Local I/O Read Time"),
    "io_write_ms": ("I/O Write Time", "Shared I/O Write Time", "Local I/O Write Time"),
    "temp_io_read_ms": ("Temp I/O Read Time",),
    "temp_io_write_ms": ("Temp I/O Write Time",),
}
PARALLEL_TOPS = ("Gather", "Gather Merge")
BLOCK_BYTES = 8192


@dataclass
class Buffers:
    """Blocks touched (EXPLAIN's BUFFERS) and the time spent reading/writing them (track_io_timing)."""

    shared_hit: int = 0
    shared_read: int = 0
    shared_dirtied: int = 0
    shared_written: int = 0
    local_hit: int = 0
    local_read: int = 0
    local_dirtied: int = 0
    local_written: int = 0
    temp_read: int = 0
    temp_written: int = 0
    io_read_ms: float = 0.0
    io_write_ms: float = 0.0
    temp_io_read_ms: float = 0.0
    temp_io_write_ms: float = 0.0

    def minus(self, others: list[Buffers]) -> Buffers:
        if not others:
            return Buffers(**self.__dict__)
        mine = self.__dict__
        theirs = [o.__dict__ for o in others]
        out = {name: mine[name] - sum(t[name] for t in theirs) for name in _BUFFER_FIELDS}
        return Buffers(**{k: (v if v > 0 else type(v)(0)) for k, v in out.items()})

    @property
    def any(self) -> bool:
        return any(self.__dict__.values())

    @property
    def read(self) -> int:
        return self.shared_read + self.local_read

    @property
    def hit(self) -> int:
        return self.shared_hit + self.local_hit

    @property
    def temp(self) -> int:
        return self.temp_read + self.temp_written

    def label(self) -> str:
        """`hit=12 read=3 temp=40` (the non-zero counts)."""
        parts = [(k, v) for k, v in (("hit", self.hit), ("read", self.read),
                                      ("dirtied", self.shared_dirtied + self.local_dirtied),
                                      ("written", self.shared_written + self.local_written),
                                      ("temp", self.temp)) if v]
        return " ".join(f"{k}={v}" for k, v in parts)


_BUFFER_FIELDS = tuple(f.name for f in fields(Buffers))


@dataclass
class Worker:
    """One parallel worker's figures for a node (EXPLAIN VERBOSE)."""

    number: int
    startup_ms: float | None = None
    total_ms: float | None = None
    rows: float | None = None
    loops: float = 0
    buffers: Buffers = field(default_factory=Buffers)


@dataclass
class PlanNode:
    node_type: str
    # where it sits and what it reads
    parent_relationship: str | None = None
    subplan_name: str | None = None
    relation: str | None = None
    schema: str | None = None
    alias: str | None = None
    index_name: str | None = None
    cte_name: str | None = None
    function_name: str | None = None
    join_type: str | None = None
    strategy: str | None = None
    partial_mode: str | None = None
    operation: str | None = None
    scan_direction: str | None = None
    parallel_aware: bool = False
    # the planner's estimates
    startup_cost: float | None = None
    total_cost: float | None = None
    plan_rows: float | None = None
    plan_width: int | None = None
    # ANALYZE: per loop, as printed
    actual_startup_ms: float | None = None
    actual_total_ms: float | None = None
    actual_rows: float | None = None
    loops: float | None = None
    # conditions and what they removed (per loop, as printed)
    filter: str | None = None
    join_filter: str | None = None
    index_cond: str | None = None
    recheck_cond: str | None = None
    hash_cond: str | None = None
    merge_cond: str | None = None
    removed_by_filter: float = 0
    removed_by_join_filter: float = 0
    removed_by_recheck: float = 0
    heap_fetches: float = 0
    exact_heap_blocks: float = 0
    lossy_heap_blocks: float = 0
    # sorts, hashes, aggregates
    sort_key: list[str] = field(default_factory=list)
    group_key: list[str] = field(default_factory=list)
    sort_method: str | None = None
    sort_space_kb: float | None = None
    sort_space_type: str | None = None
    hash_buckets: int | None = None
    hash_batches: int | None = None
    original_hash_batches: int | None = None
    hashagg_batches: int | None = None
    peak_memory_kb: float | None = None
    disk_usage_kb: float | None = None
    # parallelism
    workers_planned: int | None = None
    workers_launched: int | None = None
    workers: list[Worker] = field(default_factory=list)
    buffers: Buffers = field(default_factory=Buffers)
    wal_records: int = 0
    wal_bytes: int = 0
    output: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)     # any other EXPLAIN field, as given
    children: list[PlanNode] = field(default_factory=list)
    # derived by measure()
    id: int = 0
    depth: int = 0
    in_parallel: bool = False
    inclusive_ms: float | None = None
    exclusive_ms: float | None = None
    time_uncertain: bool = False

    # -- figures ------------------------------------------------------------------------------------
    @property
    def analyzed(self) -> bool:
        return self.loops is not None

    @property
    def never_executed(self) -> bool:
        return self.loops == 0

    @property
    def rows_total(self) -> float | None:
        return None if self.actual_rows is None or self.loops is None else self.actual_rows * self.loops

    @property
    def removed_by_filter_total(self) -> float:
        return self.removed_by_filter * (self.loops or 1)

    @property
    def removed_by_join_filter_total(self) -> float:
        return self.removed_by_join_filter * (self.loops or 1)

    @property
    def removed_by_recheck_total(self) -> float:
        return self.removed_by_recheck * (self.loops or 1)

    @property
    def estimate_factor(self) -> float | None:
        """How far the planned rows per loop are from the actual ones (≥ 1); None without ANALYZE
        or for a node that never ran."""
        if self.actual_rows is None or self.plan_rows is None or not self.loops:
            return None
        actual, planned = max(self.actual_rows, 1.0), max(self.plan_rows, 1.0)
        return max(actual, planned) / min(actual, planned)

    @property
    def underestimated(self) -> bool:
        return (self.actual_rows or 0) > (self.plan_rows or 0)

    @property
    def exclusive_buffers(self) -> Buffers:
        """The node's own buffer counts (EXPLAIN's include the children's)."""
        return self.buffers.minus([c.buffers for c in self.children])

    @property
    def is_scan(self) -> bool:
        return self.node_type.endswith("Scan")

    def label(self) -> str:
        """`Parallel Seq Scan on public.orders o`, `Index Scan using orders_pkey on orders`…"""
        name = self.node_type
        if self.node_type == "ModifyTable" and self.operation:
            name = self.operation
        elif self.node_type == "Aggregate" and self.strategy in ("Hashed", "Sorted", "Mixed"):
            name = {"Hashed": "HashAggregate", "Sorted": "GroupAggregate", "Mixed": "MixedAggregate"}[self.strategy]
        elif self.node_type in ("Hash Join", "Merge Join", "Nested Loop") and self.join_type not in (None, "Inner"):
            name = f"{self.node_type.replace(' Join', '')} {self.join_type} Join"
        if self.partial_mode and self.partial_mode != "Simple":
            name = f"{self.partial_mode} {name}"
        if self.parallel_aware:
            name = f"Parallel {name}"
        if self.scan_direction == "Backward":
            name += " Backward"
        if self.index_name and self.node_type != "Bitmap Index Scan":
            name += f" using {self.index_name}"
        target = self.relation or self.cte_name or self.function_name
        if self.node_type == "Bitmap Index Scan" and self.index_name:
            target = self.index_name
        if target:
            qualified = f"{self.schema}.{target}" if self.schema and self.relation else target
            name += f" on {qualified}"
            if self.alias and self.alias != target:
                name += f" {self.alias}"
        elif self.alias and self.is_scan:
            name += f" on {self.alias}"
        return name

    def walk(self) -> Iterator[PlanNode]:
        """This node and every node below it, parents first (iterative: plans can be deep)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


@dataclass
class Trigger:
    name: str
    relation: str | None = None
    time_ms: float | None = None
    calls: float | None = None


@dataclass
class Jit:
    functions: int = 0
    options: dict[str, bool] = field(default_factory=dict)
    generation_ms: float = 0.0
    inlining_ms: float = 0.0
    optimization_ms: float = 0.0
    emission_ms: float = 0.0
    total_ms: float = 0.0


@dataclass
class Plan:
    root: PlanNode
    planning_ms: float | None = None
    execution_ms: float | None = None
    planning_buffers: Buffers = field(default_factory=Buffers)
    triggers: list[Trigger] = field(default_factory=list)
    jit: Jit | None = None
    settings: dict[str, str] = field(default_factory=dict)
    query_identifier: int | None = None
    source: str = "json"          # json or text: which parser read it

    @property
    def analyzed(self) -> bool:
        return self.root.analyzed

    @property
    def total_ms(self) -> float | None:
        """The statement's time: Execution Time, else the root's inclusive time."""
        if self.execution_ms is not None:
            return self.execution_ms
        return self.root.inclusive_ms

    @property
    def trigger_ms(self) -> float:
        return sum(t.time_ms or 0.0 for t in self.triggers)

    def nodes(self) -> list[PlanNode]:
        return list(self.root.walk())


def measure(plan: Plan) -> Plan:
    """Fill every node's derived figures (ids, depth, inclusive/exclusive time, own buffers)."""
    order: list[PlanNode] = []
    parents: dict[int, PlanNode | None] = {}
    stack: list[tuple[PlanNode, PlanNode | None, int, bool, float | None]] = [(plan.root, None, 0, False, None)]
    while stack:
        node, parent, depth, in_parallel, processes = stack.pop()
        node.id, node.depth, node.in_parallel = len(order), depth, in_parallel
        order.append(node)
        parents[id(node)] = parent
        if in_parallel and processes is None:
            processes = node.loops or None      # the section's top node: one loop per process
        node.inclusive_ms, node.time_uncertain = _inclusive(node, in_parallel, processes)
        if node.node_type in PARALLEL_TOPS:
            child_parallel, child_processes = True, None
        else:
            child_parallel, child_processes = in_parallel, processes
        for child in reversed(node.children):
            stack.append((child, node, depth + 1, child_parallel, child_processes))
    ctes: dict[str, PlanNode] = {}
    for node in order:
        if node.subplan_name and node.subplan_name.startswith("CTE "):
            ctes.setdefault(node.subplan_name[4:], node)
    cte_scans: dict[str, list[PlanNode]] = {}
    for node in order:
        if node.node_type == "CTE Scan" and node.cte_name in ctes:
            cte_scans.setdefault(node.cte_name, []).append(node)
    for node in order:
        counted = [c for c in node.children if not (c.subplan_name or "").startswith("CTE ")]
        if node.node_type == "CTE Scan" and node.cte_name in ctes:
            scans = cte_scans[node.cte_name]
            if scans[0] is node:               # the CTE's time is read where it is scanned (first scan)
                counted.append(ctes[node.cte_name])
            if len(scans) > 1:
                node.time_uncertain = True
        if node.inclusive_ms is None:
            continue
        below = sum(c.inclusive_ms or 0.0 for c in counted)
        node.exclusive_ms = max(node.inclusive_ms - below, 0.0)
        if any(c.time_uncertain for c in counted):
            node.time_uncertain = True
    return plan


def _inclusive(node: PlanNode, in_parallel: bool, processes: float | None) -> tuple[float | None, bool]:
    if node.actual_total_ms is None or node.loops is None:
        return None, False
    if node.loops == 0:
        return 0.0, False
    summed = node.actual_total_ms * node.loops
    if not in_parallel:
        return summed, False
    workers = [w.total_ms * w.loops for w in node.workers if w.total_ms is not None]
    if workers:
        leader = summed - sum(workers)
        return max([*workers, leader]), True
    return summed / max(processes or 1.0, 1.0), True
