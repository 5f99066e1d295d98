"""perftool.yaml: every bad shape is an InputError with the file name (exit 2), never a traceback."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perftool.config import load_config
from perftool.db.errors import InputError


def write(tmp_path, text):
    p = tmp_path / "perftool.yaml"
    p.write_text(text)
    return p


def test_good_config(tmp_path, monkeypatch):
    monkeypatch.setenv("REPLICA_PW", "s3cret")
    cfg = load_config(write(tmp_path, "hosts:\n  primary: postgresql://a/db\n  r1:\n    dsn: postgresql://u:${REPLICA_PW}@b/db\n"
                                      "    role: replica\nthresholds:\n  slow_ms: 250\nignore:\n  - code: I104\n"
                                      "    object: public.legacy_*\n    reason: kept for reports\n"))
    assert cfg.default_dsn() == "postgresql://a/db"
    assert cfg.hosts["r1"].role == "replica" and "s3cret" in cfg.hosts["r1"].dsn
    assert cfg.thresholds.slow_ms == 250.0 and cfg.ignore[0].code == "I104"


@pytest.mark.parametrize("text, needle", [
    ("hosts: [a, b]\n", "'hosts' must map"),
    ("hosts:\n  a: {role: replica}\n", "needs a dsn"),
    ("hosts:\n  a: {dsn: x, role: boss}\n", "role must be"),
    ("thresholds: [1, 2]\n", "'thresholds' must map"),
    ("thresholds:\n  nope: 3\n", "unknown threshold 'nope'"),
    ("thresholds:\n  slow_ms: fast\n", "must be a number"),
    ("ignore: I104\n", "'ignore' must be a list"),
    ("ignore:\n  - I104\n", "ignore entry 1"),
    ("- just\n- a list\n", "must be a mapping"),
    ("hosts:\n  a: {dsn: x\n", "invalid YAML"),
])
def test_bad_configs(tmp_path, text, needle):
    with pytest.raises(InputError) as exc:
        load_config(write(tmp_path, text))
    assert needle in exc.value.one_line() and "perftool.yaml" in exc.value.one_line()
    assert exc.value.exit_code == 2


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_config_or_an_input_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("cfg") / "perftool.yaml"
    path.write_text(text)
    try:
        load_config(path)
    except InputError:
        pass
