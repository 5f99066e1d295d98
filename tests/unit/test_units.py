"""The one duration parser: PostgreSQL's unit spellings, whole words only, bare numbers in ms."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perftool.db.errors import UsageError
from perftool.units import parse_duration_ms, parse_size


@pytest.mark.parametrize("text, ms", [
    ("30s", 30_000), ("500ms", 500), ("2min", 120_000), ("1.5h", 5_400_000), ("1d", 86_400_000),
    ("250", 250), (" 10 s ", 10_000), ("100us", 0), ("1500us", 2), ("3SEC", 3_000), (0, 0), (1.5, 2),
])
def test_durations(text, ms):
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["1m", "10 minutes", "abc", "-1s", "1e3", "s", "1 000 ms"])
def test_bad_durations_are_usage_errors(text):
    with pytest.raises(UsageError) as err:
        parse_duration_ms(text, what="--statement-timeout")
    assert err.value.exit_code == 2 and "--statement-timeout" in err.value.message


def test_nothing_is_none():
    assert parse_duration_ms(None) is None and parse_duration_ms("") is None


@given(st.text(max_size=20))
def test_any_text_is_a_duration_or_a_usage_error(text):
    try:
        value = parse_duration_ms(text)
    except UsageError:
        return
    assert value is None or value >= 0


@pytest.mark.parametrize("text, expected", [
    ("2048", 2048), ("500kB", 512_000), ("10MB", 10 * 1024**2), ("1.5 GiB", int(1.5 * 1024**3)), ("1g", 1024**3),
    ("1.5GiB", int(1.5 * 1024**3)), ("2TB", 2 * 1024**4), ("3 KiB", 3072), ("7M", 7 * 1024**2), ("5b", 5), (12, 12),
])
def test_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["ten megs", "1i", "1 ib", "-1MB", "1PB", "MB", "1.5.2GB"])
def test_bad_sizes(text):
    with pytest.raises(UsageError):
        parse_size(text, what="--budget")


SPELLINGS = ["1.5GiB", "500kB", "10MB", "2 GB", "3KiB", "4096"]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_size_option_accepts_the_same_spellings(spelling):
    """`indexes recommend --budget` and `indexes health --unused-min-size / --bloat-min-size` read
    sizes with the same parser (a bad one is exit 2 before any connection; a good one gets as far
    as connecting to a closed port: exit 3)."""
    from typer.testing import CliRunner

    from perftool.cli.app import app

    nowhere = "postgresql://127.0.0.1:1/nowhere?connect_timeout=1"
    for args in (["indexes", "recommend", "--dsn", nowhere, "-q", "SELECT 1", "--budget", spelling],
                 ["indexes", "health", "--dsn", nowhere, "--unused-min-size", spelling],
                 ["indexes", "health", "--dsn", nowhere, "--bloat-min-size", spelling]):
        assert CliRunner().invoke(app, args).exit_code == 3, args
        bad = CliRunner().invoke(app, [*args[:-1], spelling + "x"])
        assert bad.exit_code == 2, args
