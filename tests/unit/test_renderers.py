"""Every renderer against golden files (tests/snapshots/report.<format>).

Regenerate after an intended change with: PERFTOOL_UPDATE_SNAPSHOTS=1 pytest tests/unit/test_renderers.py
"""

import csv
import io
import json
import os
from pathlib import Path

import pytest
import yaml

from perftool.report.model import Column, Finding, Report, Section
from perftool.report.render import FORMATS, render, render_to_string

SNAPSHOTS = Path(__file__).parent.parent / "snapshots"
BASE_FORMATS = ["table", "json", "yaml", "csv", "markdown"]


def sample_report() -> Report:
    return Report(
        command="queries",
        server={"host": "db.example", "port": 5432, "database": "shop", "version": "15.4", "version_num": 150004},
        sections=[Section(
            key="statements", title="Top 2 statements by total",
            columns=[Column("rank", "#", "int"), Column("query", "statement", "query"), Column("calls", "calls", "int"),
                     Column("mean_ms", "mean", "ms"), Column("hit_ratio", "hit", "pct"), Column("size", "size", "bytes")],
            rows=[
                {"rank": 1, "query": "SELECT *\n  FROM jobs WHERE status = $1 AND created_at > $2 ORDER BY created_at DESC LIMIT $3",
                 "calls": 12345, "mean_ms": 1520.5, "hit_ratio": 0.9512, "size": 123456789},
                {"rank": 2, "query": "UPDATE jobs SET status = $1 WHERE id = $2", "calls": 7, "mean_ms": 0.42,
                 "hit_ratio": None, "size": 0},
            ],
            note="p95≈ values are estimates.",
        )],
        findings=[
            Finding("Q101", "warning", "slow statement: mean 1,520 ms over 12,345 calls", "queryid:42",
                    "Mean 1520.5 ms (threshold 1000 ms).", "CREATE INDEX CONCURRENTLY jobs_status_created_at_idx\n"
                    "    ON jobs (status, created_at);", {"mean_ms": 1520.5}),
            Finding("Q105", "info", "pg_stat_statements is evicting statements", "pg_stat_statements",
                    "12 evictions | since reset.", "Raise pg_stat_statements.max."),
        ],
        notes=["role app cannot read other roles' statement texts"],
        data={"summary": {"statements": 2, "calls": 12352}},
        generated_at="2026-01-01T00:00:00+00:00",
        perftool="0.0.0",
    )


@pytest.mark.parametrize("fmt", BASE_FORMATS)
def test_golden(fmt):
    text = render_to_string(sample_report(), fmt, width=120)
    path = SNAPSHOTS / f"report.{fmt}"
    if os.environ.get("PERFTOOL_UPDATE_SNAPSHOTS") or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text)
        if not os.environ.get("PERFTOOL_UPDATE_SNAPSHOTS"):
            pytest.fail(f"snapshot {path} was missing and has been written: review and commit it")
    assert text == path.read_text()


def test_json_envelope_is_complete_and_parses():
    doc = json.loads(render_to_string(sample_report(), "json"))
    assert list(doc)[:6] == ["perftool", "command", "server", "generated_at", "findings", "notes"]
    assert doc["server"] == {"host": "db.example", "port": 5432, "database": "shop", "version": "15.4",
                             "version_num": 150004}
    assert set(doc["findings"][0]) >= {"code", "severity", "title", "object", "detail", "fix"}
    assert doc["statements"][0]["calls"] == 12345
    assert doc["summary"]["calls"] == 12352


def test_yaml_equals_json():
    r = sample_report()
    assert yaml.safe_load(render_to_string(r, "yaml")) == json.loads(render_to_string(r, "json"))


def test_csv_round_trips_raw_values():
    text = render_to_string(sample_report(), "csv")
    blocks = text.split("\n\n")
    assert blocks[0].startswith("# statements\n") and blocks[1].startswith("# findings\n")
    rows = list(csv.DictReader(io.StringIO(blocks[0].split("\n", 1)[1])))
    assert rows[0]["calls"] == "12345" and rows[0]["mean_ms"] == "1520.5"
    assert rows[0]["query"].startswith("SELECT *\n  FROM jobs")  # full text, not shortened


def test_plain_table_has_no_escape_codes_and_shortens_statements():
    text = render_to_string(sample_report(), "table")
    assert "\x1b[" not in text
    assert "1.52 s" in text and "95.1 %" in text and "117.7 MB" in text
    assert "…" in text  # the long statement is cut to one line


def test_rich_table_on_a_terminal(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Tty()
    render(sample_report(), "table", out, width=150)
    assert "\x1b[" in out.getvalue()  # colour on a TTY
    monkeypatch.setenv("NO_COLOR", "1")
    out = Tty()
    render(sample_report(), "table", out, width=150)
    assert "\x1b[" not in out.getvalue()  # never with NO_COLOR
    assert "Q101" in out.getvalue()


def test_every_registered_format_renders_the_findings():
    for fmt in FORMATS:
        text = render_to_string(sample_report(), fmt)
        assert "Q101" in text, fmt


def test_column_kind_is_a_closed_set():
    from perftool.report.model import Column, ColumnKind

    assert Column("calls", "calls", "int").kind is ColumnKind.INT and Column("q", "query", "query").numeric is False
    assert Column("b", "size", "bytes").numeric is True
    with pytest.raises(ValueError):
        Column("calls", "calls", "integer")


def test_summary_format_of_a_report_without_a_gate_lists_findings_then_counts():
    text = render_to_string(sample_report(), "summary").splitlines()
    assert text[-1].startswith(f"perftool {sample_report().command}: ") and "error" in text[-1]
    assert all(" Q" in line or " T" in line or " I" in line for line in text[:-1]) and len(text) > 1
