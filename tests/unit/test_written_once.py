"""Ideas written once (issue #16): ignore matching, the findings' order, "unused on every host"
and the fleet's database hosts — each one function that every command uses."""

from perftool.config import Config, HostConfig, HostRole
from perftool.health.checks import unused_on_every_host
from perftool.report.ignores import IgnoreEntry, Source, apply_ignores
from perftool.report.model import Finding, Severity, sort_findings


def _f(code: str, obj: str, severity: str | None = None) -> Finding:
    return Finding(code, severity=Severity(severity) if severity else None, title="t", object=obj)


def test_ignore_globs_and_the_first_matching_entry_wins():
    findings = [_f("I104", "public.a_idx"), _f("I104", "archive.b_idx"), _f("T102", "public.t"),
                _f("I102", "public.a_idx")]
    entries = [IgnoreEntry("I10*", "archive.*", "old schema", Source("s.yaml", 3)),
               IgnoreEntry("I104", reason="everything", origin="perftool.yaml"), IgnoreEntry("t102")]
    kept, dropped = apply_ignores(findings, entries)
    assert [(f.code, f.object) for f in kept] == [("T102", "public.t"), ("I102", "public.a_idx")]  # case matters
    assert [(f.object, e.by) for f, e in dropped] == [("public.a_idx", "perftool.yaml"), ("archive.b_idx", "s.yaml:3")]
    assert IgnoreEntry("I104").by == "index set"


def test_every_report_sorts_findings_worst_first_then_code_and_object():
    fs = [_f("I104", "b", "info"), _f("T102", "a"), _f("I101", "z"), _f("I104", "a", "warning"), _f("I102", "a")]
    assert sort_findings(fs) is fs
    assert [(f.code, f.object) for f in fs] == [("I101", "z"), ("I102", "a"), ("I104", "a"), ("T102", "a"),
                                                ("I104", "b")]


def test_unused_only_if_unused_on_every_host():
    assert unused_on_every_host({"primary": 0}, 50)
    assert unused_on_every_host({"primary": 50, "r1": 3}, 50)
    assert not unused_on_every_host({"primary": 0, "r1": 51}, 50)


def test_host_roles_are_a_closed_set_and_pgbouncer_is_not_a_database_host():
    cfg = Config(hosts={n: HostConfig(n, f"postgresql://{n}/db", r) for n, r in
                        [("p", HostRole.primary), ("pool", HostRole.pgbouncer), ("r1", HostRole.replica)]})
    assert [h.name for h in cfg.database_hosts()] == ["p", "r1"]
    assert HostRole("replica") is HostRole.replica and f"{HostRole.replica}" == "replica"
