"""The lock tree: who blocks whom, from pg_blocking_pids() of every waiting session.

Pure functions of `Backend` records. A session may wait for several others (two holders of a
shared lock, or a holder and a queued request ahead of it): it is listed under each of them, and
the roots are the blockers that wait for nobody — so a waiter is never mistaken for the cause.
A cycle (a deadlock the detector has not broken yet) has no such root: its lowest pid is taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perftool.activity.connections import Backend
from perftool.config import Thresholds
from perftool.db.sql import statement_text
from perftool.report.model import Finding, Severity


@dataclass
class LockNode:
    backend: Backend
    waiters: list[LockNode] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.backend.pid

    def descendants(self) -> set[int]:
        out: set[int] = set()
        for w in self.waiters:
            out.add(w.pid)
            out |= w.descendants()
        return out


def wait_seconds(b: Backend) -> float:
    """How long the session has waited for its lock (pg_locks.waitstart; else its statement's age)."""
    return b.lock_wait_s if b.lock_wait_s is not None else (b.query_age_s or 0.0)


def lock_trees(backends: list[Backend]) -> list[LockNode]:
    """One tree per root blocker, its waiters below it (a waiter with several blockers under each)."""
    by_pid = {b.pid: b for b in backends}
    waiting_for: dict[int, list[int]] = {b.pid: [p for p in b.blocked_by if p != b.pid]
                                         for b in backends if b.blocked_by}
    blocks: dict[int, list[int]] = {}
    for waiter, blockers in waiting_for.items():
        for p in blockers:
            blocks.setdefault(p, []).append(waiter)
    roots = sorted(p for p in blocks if p not in waiting_for)
    reached: set[int] = set()

    def build(pid: int, path: frozenset[int]) -> LockNode:
        reached.add(pid)
        node = LockNode(by_pid.get(pid) or Backend(pid=pid, backend_type="unknown"))
        for w in sorted(blocks.get(pid, [])):
            if w not in path:
                node.waiters.append(build(w, path | {w}))
        return node

    trees = [build(r, frozenset({r})) for r in roots]
    for pid in sorted(blocks):        # cycles: no root reaches them
        if pid not in reached:
            trees.append(build(pid, frozenset({pid})))
    return trees


def tree_rows(trees: list[LockNode]) -> list[dict]:
    """The trees as table rows, depth-first; `blocked_by` lists every blocker of the session."""
    rows: list[dict] = []

    def walk(node: LockNode, root: int, depth: int) -> None:
        b = node.backend
        indent = "· " * (depth - 1) + "└ " if depth else ""   # not spaces: tables strip leading spaces
        rows.append({
            "root": root, "depth": depth, "pid": indent + str(b.pid),
            "blocked_by": ", ".join(map(str, b.blocked_by)) if depth else "",
            "waiting_s": round(wait_seconds(b), 1) if depth else None,
            "blocks": len(node.descendants()), "state": b.state, "who": b.who,
            "lock": b.lock_type or "", "query": (b.query or "").strip()[:120],
        })
        for w in node.waiters:
            walk(w, root, depth + 1)

    for t in trees:
        walk(t, t.pid, 0)
    return rows


def release_statement(b: Backend) -> str:
    """What would free the root's locks (printed for a person, never run by perftool): a running
    statement can be cancelled; an idle transaction only ends with its session."""
    if b.state == "active":
        return (statement_text("fix_cancel_backend", {"pid": b.pid}) + "     -- cancel its statement\n"
                + statement_text("fix_terminate_backend", {"pid": b.pid})
                + "  -- if that is not enough: end the session")
    return (statement_text("fix_terminate_backend", {"pid": b.pid})
            + "  -- ends the session, rolls back its transaction")


def blocker_findings(trees: list[LockNode], backends: list[Backend], th: Thresholds, *,
                     prefix: str = "") -> list[Finding]:
    """C104 per root blocker whose longest-waiting (direct or indirect) waiter has waited past the
    warning threshold."""
    by_pid = {b.pid: b for b in backends}
    out = []
    for t in trees:
        waiting = [by_pid[p] for p in t.descendants() if p in by_pid]
        longest = max((wait_seconds(w) for w in waiting), default=0.0)
        if longest < th.lock_wait_warning_s:
            continue
        severity = Severity.error if longest >= th.lock_wait_critical_s else Severity.warning
        b = t.backend
        direct = ", ".join(str(w.pid) for w in t.waiters)
        out.append(Finding(
            code="C104", severity=severity,
            title=f"{prefix}pid {b.pid} ({b.who}, {b.state or '?'}) blocks {len(waiting)} session(s), "
                  f"the longest waiting {longest:,.0f} s",
            object=f"pid {b.pid}",
            detail=(f"Waiting directly on it: {direct}; in all {len(waiting)} "
                    f"({', '.join(str(p) for p in sorted(w.pid for w in waiting))}). "
                    f"Its transaction is open for {b.xact_age_s or 0:,.0f} s; last statement: "
                    f"{(b.query or '').strip()[:200]!r}. Warning from {th.lock_wait_warning_s:g} s, "
                    f"critical from {th.lock_wait_critical_s:g} s (thresholds.lock_wait_*)."),
            fix=release_statement(b),
            evidence={"pid": b.pid, "waiters": sorted(w.pid for w in waiting),
                      "direct_waiters": [w.pid for w in t.waiters], "longest_wait_s": round(longest, 1)},
        ))
    return out
