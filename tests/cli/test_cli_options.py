"""Each option is declared once: the same option name means the same help on every command, and
the closed sets the CLI validates (Enum options) are the library's own."""

from __future__ import annotations

from collections import defaultdict

from typer.main import get_command

from perftool.cli.app import app
from perftool.cli.options import FailOn, Sort, Weight

# options whose meaning differs by command on purpose, each variant declared once:
VARIANTS = {
    "--format": 4,   # report formats (options.FormatOpt), the gate's (GateFormatOpt), snapshot's (yaml/json),
                     # explain's (ExplainFormatOpt: no -f, which is explain's statement FILE)
    "--fail-on": 2,  # default never (FailOnOpt), the gate's default error (GateFailOnOpt)
    "--limit": 2,    # queries: 0 lists all, default 20; analyze: at least 1, default 10
}


def option_helps(root) -> dict[str, dict[tuple[str, tuple[str, ...]], list[str]]]:
    """option name → (help, flags) → the commands declaring it; hidden commands included."""
    seen: dict[str, dict[tuple[str, tuple[str, ...]], list[str]]] = defaultdict(lambda: defaultdict(list))

    def walk(cmd, path):
        for p in cmd.params:
            if p.param_type_name == "option":
                name = max(p.opts, key=len)
                seen[name][(p.help or "", tuple(sorted([*p.opts, *p.secondary_opts])))].append(" ".join(path) or "perftool")
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            walk(sub, (*path, name))

    walk(root, ())
    return seen


def drifted(seen) -> list[str]:
    return [f"{name}: {dict(variants)}" for name, variants in seen.items() if len(variants) > VARIANTS.get(name, 1)]


def test_an_option_name_has_one_help_text():
    problems = drifted(option_helps(get_command(app)))
    assert not problems, "options declared twice with different help (declare once in perftool/cli/options.py):\n" + \
        "\n".join(problems)


def test_the_check_finds_a_drifted_option():
    """The walk sees a redeclared option anywhere in the tree, so the test above can fail."""
    import typer

    probe = typer.Typer()
    group = typer.Typer()
    probe.add_typer(group, name="group")

    @probe.command("a")
    def a(x: int = typer.Option(1, "--probe", "-p", help="one text"), y: int = typer.Option(1, "--same", help="same")) -> None: ...

    @group.command("b")
    def b(x: int = typer.Option(1, "--probe", "-p", help="another text"), y: int = typer.Option(1, "--same", help="same")) -> None: ...

    @group.command("c")
    def c(x: int = typer.Option(1, "--probe", help="one text")) -> None: ...  # same text, other flags

    seen = option_helps(get_command(probe))
    assert dict(seen["--probe"]) == {("one text", ("--probe", "-p")): ["a"], ("another text", ("--probe", "-p")): ["group b"],
                                     ("one text", ("--probe",)): ["group c"]}
    assert [line.split(":")[0] for line in drifted(seen)] == ["--probe"]


def test_gate_options_are_declared_on_check_only():
    """`indexes --check` is routed to `indexes check`: the group itself declares only --check and
    the options that apply to any of its commands."""
    group = get_command(app).commands["indexes"]
    assert sorted(max(p.opts, key=len) for p in group.params) == ["--check", "--dsn", "--format", "--output"]


def test_hidden_commands_are_reserved_not_listed():
    root = get_command(app)
    assert {name for name, cmd in root.commands.items() if cmd.hidden} == set()   # explain, pool, replicas built


def test_enum_choices_are_the_librarys():
    from perftool.advisor.options import WEIGHTS
    from perftool.report.model import Severity
    from perftool.workload.queries import SORT_KEYS

    assert [s.value for s in Sort] == list(SORT_KEYS)
    assert [w.value for w in Weight] == list(WEIGHTS)
    assert [f.value for f in FailOn] == [*(s.value for s in Severity), "never"]
