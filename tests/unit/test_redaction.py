"""Passwords never reach stdout or stderr, whatever the DSN looks like (issue 10, item 4).

Each generated password is built from hostile characters around a marker (`MARK`), so a test
catches a password printed whole *and* one printed in part (`p@ss` → `ss@127.0.0.1`). The DSNs:
URLs of any scheme (or none), percent-encoded or raw, key=value (quoted with escapes or not),
`?password=`, and truncated or otherwise malformed ones. Each goes through `redact()` directly and
through the real CLI against a closed loopback port (no server needed).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perftool.db.connect import parse_dsn, redact
from perftool.db.errors import UsageError
from tests.cli.fast_runner import invoke

MARK = "Zq8X"
HOSTILE = list("@/:?#&='\"\\ %;,+$!") + ["%40", "%2F", "%zz", "%", "\t", "é", "ß", "密", "🔑", "\u202e"]
CLOSED = "127.0.0.1:1"  # nothing listens on port 1: connection refused at once


@st.composite
def passwords(draw) -> str:
    parts = draw(st.lists(st.one_of(st.sampled_from(HOSTILE), st.just(MARK),
                                    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                                            max_size=2)),
                          min_size=1, max_size=6))
    if MARK not in parts:
        parts.insert(draw(st.integers(0, len(parts))), MARK)
    return "".join(parts)


def _kv_quote(pw: str) -> str:
    return "'" + pw.replace("\\", "\\\\").replace("'", "\\'") + "'"


@st.composite
def dsns(draw) -> tuple[str, str]:
    pw = draw(passwords())
    form = draw(st.sampled_from(["url", "url-encoded", "schemeless", "kv-quoted", "kv-raw", "query",
                                 "query-encoded", "junk"]))
    scheme = draw(st.sampled_from(["postgresql", "postgres", "mysql", "postgresq", "PostgreSQL", "redis", "x"]))
    tail = draw(st.sampled_from(["", "?bogus=1", "?sslmode=disable", "?connect_timeout=2", "?application_name=a@b"]))
    if form == "url":
        dsn = f"{scheme}://u:{pw}@{CLOSED}/db{tail}"
    elif form == "url-encoded":
        dsn = f"{scheme}://u:{quote(pw, safe='')}@{CLOSED}/db{tail}"
    elif form == "schemeless":
        dsn = f"u:{pw}@{CLOSED}/db"
    elif form == "kv-quoted":
        dsn = f"host=127.0.0.1 port=1 user=u password={_kv_quote(pw)} dbname=db"
    elif form == "kv-raw":
        dsn = f"host=127.0.0.1 port=1 password={pw} dbname=db"
    elif form == "query":
        dsn = f"postgresql://{CLOSED}/db?password={pw}"
    elif form == "query-encoded":
        dsn = f"postgresql://{CLOSED}/db?sslmode=disable&password={quote(pw, safe='')}"
    else:
        dsn = draw(st.sampled_from(["host=127.0.0.1 port=1 nonsense password={} x",
                                    "postgresql://u:{}@", "password = {} host", ":{}@127.0.0.1",
                                    "host=127.0.0.1 port=abc password={}", "postgresql://:{}@127.0.0.1:1/db"])).format(pw)
    if draw(st.booleans()) and form == "junk" and "password" in dsn:  # key=value cut anywhere after the marker
        cut = dsn.index(MARK) + len(MARK)
        dsn = dsn[:draw(st.integers(cut, len(dsn)))]
    return dsn, pw


def _assert_hidden(text: str, pw: str, dsn: str) -> None:
    assert MARK not in text, f"password leaked for DSN {dsn!r}:\n{text}"
    assert pw not in text or len(pw) < 3


@settings(max_examples=300, deadline=None)
@given(dsns())
def test_redact_hides_the_password_of_any_dsn(case):
    dsn, pw = case
    _assert_hidden(redact(dsn), pw, dsn)
    _assert_hidden(redact(f"cannot use {dsn!r}: {dsn} failed", dsn), pw, dsn)
    try:
        parse_dsn(dsn)
    except UsageError as exc:
        _assert_hidden(exc.one_line(), pw, dsn)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dsns(), st.sampled_from([["queries"], ["analyze"], ["indexes", "health"], ["indexes", "--check"],
                                ["indexes", "snapshot"], ["indexes", "recommend", "--query", "SELECT 1"]]))
def test_cli_never_prints_the_password(case, command):
    dsn, pw = case
    for args in ([*command, "--dsn", dsn], ["--dsn", dsn, *command]):
        result = invoke(args, env={"PGCONNECT_TIMEOUT": "2"})
        out = result.stdout + result.stderr
        _assert_hidden(out, pw, dsn)
        assert result.exit_code in (2, 3), out
        assert "Traceback" not in out and "internal error" not in out, out


@settings(max_examples=60, deadline=None)
@given(dsns())
def test_database_url_and_misplaced_dsn_are_hidden_too(case):
    dsn, pw = case
    result = invoke(["queries"], env={"DATABASE_URL": dsn, "PGCONNECT_TIMEOUT": "2"})
    _assert_hidden(result.stdout + result.stderr, pw, dsn)
    # a DSN where an argument does not belong: Typer's own usage error must not echo it either
    result = invoke(["queries", dsn])
    _assert_hidden(result.stdout + result.stderr, pw, dsn)
    assert result.exit_code == 2


@pytest.mark.parametrize("dsn, secret", [
    ("mysql://u:secretpw@h/db", "secretpw"),
    ("postgresq://u:secretpw@h/db", "secretpw"),
    ("u:secretpw@h/db", "secretpw"),
    ("postgresql://u:pa/ss9@127.0.0.1:1/db?bogus=1", "ss9"),
    ("postgresql://u:p@ss9word@127.0.0.1:1/db", "ss9word"),
    ("postgresql://u:sec ret9@127.0.0.1:1/db", "ret9"),
    ("postgresql://u:sec%zzret9@127.0.0.1:1/db", "ret9"),
    ("host=127.0.0.1 port=1 password=sec ret9", "ret9"),
    ("host=127.0.0.1 port=1 password='it\\'s a secret9'", "secret9"),
])
def test_the_reported_dsns(dsn, secret):
    """The DSNs of the issue: each is exit 2 (invalid) or 3 (refused), one line, no password."""
    result = invoke(["queries", "--dsn", dsn])
    assert result.exit_code in (2, 3)
    assert secret not in result.stderr and secret not in result.stdout
    assert result.stderr.startswith("perftool: error: ") and len(result.stderr.strip().splitlines()) == 1


def test_invalid_dsn_messages_stay_useful():
    def message(dsn):
        with pytest.raises(UsageError) as exc:
            parse_dsn(dsn)
        assert exc.value.exit_code == 2
        return exc.value.one_line()

    assert "unknown URL scheme 'mysql'" in message("mysql://u:pw@h/db")
    assert "%40" in message("postgresql://u:p@ss@h/db")  # says how to write '@' in a password
    assert "port 'abc' is not a number" in message("host=127.0.0.1 port=abc")  # no password: value shown
    assert "(host 127.0.0.1)" in message("host=127.0.0.1 port=abc")
    assert "the port is not a number" in message("postgresql://u:pw@h:abc/db")
    assert 'invalid URI query parameter: "bogus"' in message("postgresql://h/db?bogus=1")


def test_percent_encoded_passwords_work():
    assert parse_dsn("postgresql://u:p%40s%2Fs@h/db")["password"] == "p@s/s"
    assert parse_dsn("postgresql://h:5432/db?user=me%40corp")["user"] == "me@corp"


def test_config_host_dsns_are_checked_without_echo(tmp_path):
    """perftool.yaml hosts: a bad DSN is exit 2 naming the host, never the password."""
    cfg = tmp_path / "perftool.yaml"
    for bad in ("mysql://u:secretpw9@h/db", "postgresql://u:pa/secretpw9@127.0.0.1:1/db",
                "u:secretpw9@h/db", "postgresql://u:p@secretpw9@127.0.0.1:1/db"):
        cfg.write_text(f"hosts:\n  primary:\n    dsn: '{bad}'\n")
        for args in (["--config", str(cfg), "queries"], ["--config", str(cfg), "analyze", "--all-hosts"],
                     ["--config", str(cfg), "indexes", "health", "--host", "primary"]):
            result = invoke(args)
            assert result.exit_code == 2, result.stderr
            assert "secretpw9" not in result.stderr + result.stdout
            assert "host 'primary'" in result.stderr and "invalid DSN" in result.stderr
    cfg.write_text("hosts:\n  primary:\n    dsn: 'postgresql://u:secretpw9@127.0.0.1:1/db'\n")
    result = invoke(["--config", str(cfg), "analyze"])
    assert result.exit_code == 3 and "secretpw9" not in result.stderr and "cannot connect" in result.stderr
