import pytest
from hypothesis import given
from hypothesis import strategies as st

from perftool.db.connect import describe_target, parse_dsn, redact, resolve_dsn
from perftool.db.errors import UsageError


@pytest.mark.parametrize(
    "dsn, secret",
    [
        ("postgresql://alice:s3cr3t@db.example.com:5432/app", "s3cr3t"),
        ("postgres://alice:p%40ss@db/app?sslmode=require", "p%40ss"),
        ("host=db user=alice password=s3cr3t dbname=app", "s3cr3t"),
        ("host=db password = 's3 cr3t' dbname=app", "s3 cr3t"),
        ("postgresql://db/app?user=alice&password=s3cr3t&sslmode=require", "s3cr3t"),
        ("PASSWORD=hunter2 host=x", "hunter2"),
    ],
)
def test_redact_masks_passwords(dsn, secret):
    out = redact(dsn)
    assert secret not in out
    assert "***" in out


def test_redact_keeps_the_rest():
    assert redact("postgresql://alice:pw@db:5432/app") == "postgresql://alice:***@db:5432/app"
    assert redact("host=db dbname=app") == "host=db dbname=app"
    assert redact("postgresql://alice@db/app") == "postgresql://alice@db/app"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="'\\ @/?#&\n\t\r"), min_size=1))
def test_redact_never_leaks_url_password(pw):
    out = redact(f"postgresql://u:{pw}@h/db")
    if pw in "postgresql://u:@h/db" or pw in "***":
        # masked wherever it occurs (on purpose: a password is hidden even where it is not one), so
        # a password such as "pos" also hides part of the scheme; what remains never shows it
        assert "***" in out and (pw in "***" or pw not in out.replace("***", "\0"))
    else:
        assert out == "postgresql://u:***@h/db"


def test_redact_masks_a_password_wherever_it_occurs():
    assert redact("postgresql://u:pos@h/db") == "***tgresql://u:***@h/db"


def test_resolve_dsn_precedence(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://env/db")
    assert resolve_dsn("postgresql://cli/db", config_dsn="postgresql://cfg/db") == "postgresql://cli/db"
    assert resolve_dsn(None, config_dsn="postgresql://cfg/db") == "postgresql://env/db"
    monkeypatch.delenv("DATABASE_URL")
    assert resolve_dsn(None, config_dsn="postgresql://cfg/db") == "postgresql://cfg/db"
    assert resolve_dsn(None) == ""  # libpq then reads PG* variables


def test_describe_target_uses_pg_variables(monkeypatch):
    monkeypatch.setenv("PGHOST", "pghost.example")
    monkeypatch.setenv("PGPORT", "6543")
    monkeypatch.setenv("PGDATABASE", "shop")
    t = describe_target("")
    assert (t["host"], t["port"], t["database"]) == ("pghost.example", 6543, "shop")
    t = describe_target("postgresql://u:pw@h:7/d")
    assert (t["host"], t["port"], t["database"], t["user"]) == ("h", 7, "d", "u")
    assert "pw" not in str(t)


def test_bad_dsn_is_a_usage_error_without_password():
    with pytest.raises(UsageError) as exc:
        parse_dsn("host=db password=topsecret nonsense")
    assert exc.value.exit_code == 2
    assert "topsecret" not in exc.value.one_line()
