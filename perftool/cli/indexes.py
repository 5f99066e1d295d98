"""`perftool indexes`: advisor, health checks, index sets, CI gate.

`perftool indexes --check …` is `perftool indexes check …`: the group routes it to the `check`
command before parsing, so the gate's options are declared once, on `check`, and both spellings
behave the same (CI scripts use the first)."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.core import TyperGroup

from perftool.cli import indexes_health, indexes_migrations
from perftool.cli.indexes_recommend import recommend
from perftool.cli.options import DsnOpt, FormatOpt, OutputOpt, state

CHECK_HELP = ("Run the CI gate and exit, the same as `perftool indexes check` (which lists its options): "
              "0 pass, 1 findings at or above --fail-on (default error), 2 bad input, 3 cannot connect.")


class IndexesGroup(TyperGroup):
    """Routes `indexes [OPTIONS] --check [OPTIONS]` to `indexes check [OPTIONS]` (see `route_check`)."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, route_check(self, ctx, list(args)))


def route_check(group, ctx, args: list[str]) -> list[str]:
    """The command line for the group with `--check` turned into the `check` command.

    Options before the command are the group's own (--dsn, --format, --output: they apply to the
    command) or, with --check, the gate's; a gate option before another command is a usage error
    that says where it belongs."""
    from perftool.db.errors import UsageError

    check = group.commands["check"]
    own = {opt: p for p in group.params for opt in (*p.opts, *p.secondary_opts)}
    gate = {opt: p for p in check.params for opt in (*p.opts, *p.secondary_opts) if opt not in own}
    known = {**gate, **own}
    check_at, gate_given, command, i = None, [], None, 0
    while i < len(args):
        token = args[i]
        if token == "--" or not token.startswith("-") or token == "-":
            command = token if token != "--" else None
            break
        name, attached = token.split("=", 1)[0], "=" in token
        if name not in known and not token.startswith("--") and token[:2] in known:
            name, attached = token[:2], True  # -fjson
        param = known.get(name)
        if name == "--check":
            check_at = i
        elif name in gate:
            gate_given.append(name)
        takes_value = param is not None and not getattr(param, "is_flag", False) and not getattr(param, "count", False)
        i += 2 if takes_value and not attached else 1
    if ctx.resilient_parsing or any(a in ctx.help_option_names for a in args[:i]):
        return args
    if check_at is not None:
        if command is not None:
            raise UsageError("--check runs the gate by itself", "use `perftool indexes --check` without a command")
        return ["check", *args[:check_at], *args[check_at + 1:]]
    if gate_given and command is not None:
        raise UsageError(f"{gate_given[0]} before the command is only for --check",
                         f"put it after the command: perftool indexes {command} {gate_given[0]} ...")
    if gate_given:
        raise _missing_command()
    return args


def _missing_command():
    from perftool.db.errors import UsageError

    return UsageError("missing command", "perftool indexes --help lists the commands; --check runs the CI gate")


app = typer.Typer(cls=IndexesGroup,
                  help="Index advice (HypoPG what-if), health checks, declarative index sets, the CI gate.",
                  no_args_is_help=True, invoke_without_command=True)
app.command("recommend", help="Recommend indexes for a workload with HypoPG what-if costing.")(recommend)
app.command("health", help="Index, table and sequence health checks with fix SQL.")(indexes_health.health)
app.command("snapshot", help="Write the database's indexes as an index set (YAML).")(indexes_health.snapshot)
app.command("diff", help="Compare the database with declared index sets (missing, undeclared, different).")(
    indexes_health.diff)
app.command("check", help="The CI gate: health checks + index-set drift (same as `perftool indexes --check`).")(
    indexes_health.check)
app.command("generate", help="Write a safe index migration for a framework (sql, alembic, django, rails, …).")(
    indexes_migrations.generate)
app.command("lint", help="Find the index-migration traps (M1xx) in migration files.")(indexes_migrations.lint)
app.command("apply", help="Create or drop indexes for real, one at a time, with progress (writes!).")(
    indexes_migrations.apply)


@app.callback()
def indexes(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option("--check", help=CHECK_HELP)] = False,
    dsn: DsnOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Index advice, health checks, declarative index sets and the CI gate (--check)."""
    if ctx.invoked_subcommand is None:  # `--check` never gets here: route_check made it the command
        raise _missing_command()
    st = state(ctx)  # --dsn / --format / --output before the command apply to it, like the global ones
    st.dsn, st.fmt, st.output = dsn or st.dsn, fmt or st.fmt, output or st.output
