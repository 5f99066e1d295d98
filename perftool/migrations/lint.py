"""`perftool indexes lint FILE|DIR…`: the index-migration traps in existing migration files, as
coded findings M101–M108 (perftool/codes.py) rendered by the report layer (github, sarif, junit…).

A file's framework comes from its name and content (or `--framework`): `.sql` is goose (`-- +goose`),
Flyway (`V…__….sql`, `-- flyway:`), golang-migrate (`<n>_….up.sql`/`.down.sql`), Prisma
(`…/migration.sql`) or plain SQL; `.py` is Alembic or Django; `.rb` Rails; `.js`/`.ts` knex. SQL
is split with the workload splitter (quotes, dollar quotes, comments); code files are read with the
`ast` module (Python) or patterns (Ruby, JavaScript). Any text is findings or none — never an
exception (hypothesis tests that).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from perftool.db.errors import InputError
from perftool.ddl import parse_create
from perftool.report.model import Finding, Report, Section
from perftool.workload.sources import split_statements

LINT_FRAMEWORKS = ("sql", "flyway", "goose", "golang-migrate", "prisma", "alembic", "django", "rails", "knex")
SUFFIXES = {".sql", ".py", ".rb", ".js", ".ts", ".cjs", ".mjs"}
MAX_BYTES = 5_000_000

_CONCURRENT = re.compile(
    r"\b(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|REINDEX\b[^;]*?)\s+CONCURRENTLY\b", re.IGNORECASE
)
_CONCURRENT_WORD = re.compile(r"\bCONCURRENTLY\b", re.IGNORECASE)
_INDEX_DDL = re.compile(r"^\s*(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|ALTER\s+INDEX|REINDEX)\b", re.IGNORECASE)
_CREATE_INDEX = re.compile(r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\b", re.IGNORECASE)
_IF_NOT_EXISTS = re.compile(r"\bIF\s+NOT\s+EXISTS\b", re.IGNORECASE)
_CREATE_TABLE = re.compile(
    r"^\s*CREATE\s+(?:(?:GLOBAL\s+|LOCAL\s+)?(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"((?:\"(?:[^\"]|\"\")+\"|[\w$]+)(?:\s*\.\s*(?:\"(?:[^\"]|\"\")+\"|[\w$]+))?)",
    re.IGNORECASE,
)
_BEGIN = re.compile(r"^\s*(?:BEGIN|START\s+TRANSACTION)\b(?!\s+ATOMIC)", re.IGNORECASE)
_END = re.compile(r"^\s*(?:COMMIT|END|ROLLBACK|ABORT)\b", re.IGNORECASE)
_LOCK_TIMEOUT = re.compile(r"\bSET\s+(?:SESSION\s+|LOCAL\s+)?lock_timeout\b", re.IGNORECASE)
_GUARD = re.compile(r"\bindisvalid\b", re.IGNORECASE)
_GOLANG_MIGRATE = re.compile(r"^\d+_.*\.(?:up|down)\.sql$")
_FLYWAY = re.compile(r"^[VUR]\d[\w.]*__.*\.sql$")
_RAILS_OTHER_DDL = re.compile(
    r"^\s*(?:create_table|drop_table|add_column|change_column|change_column_default|change_column_null|"
    r"remove_column|rename_column|rename_table|add_reference|remove_reference|add_foreign_key|"
    r"remove_foreign_key|change_table|add_timestamps|add_check_constraint)\b",
    re.MULTILINE,
)
_SQL_OTHER_DDL = re.compile(r"\b(?:ALTER\s+TABLE|CREATE\s+TABLE|DROP\s+TABLE)\b", re.IGNORECASE)


@dataclass
class Context:
    path: str
    text: str
    framework: str
    findings: list[Finding] = field(default_factory=list)

    def add(self, code: str, line: int, detail: str, fix: str = "", **evidence) -> None:
        self.findings.append(
            Finding(
                code=code,
                object=f"{self.path}:{line}",
                detail=detail,
                fix=fix,
                evidence={"file": self.path, "line": line, "framework": self.framework, **evidence},
            )
        )


def detect(path: str, text: str) -> str:
    """The framework a migration file belongs to (see the module docstring)."""
    p = Path(path)
    suffix, name = p.suffix.lower(), p.name
    if suffix == ".sql":
        if "-- +goose" in text:
            return "goose"
        if _FLYWAY.match(name) or "flyway:" in text:
            return "flyway"
        if name == "migration.sql" or name == "down.sql" and (p.parent / "migration.sql").exists():
            return "prisma"
        if _GOLANG_MIGRATE.match(name):
            return "golang-migrate"
        return "sql"
    if suffix == ".py":
        if re.search(r"\bfrom\s+django\b|\bimport\s+django\b|migrations\.Migration\b", text):
            return "django"
        return "alembic"
    if suffix == ".rb":
        return "rails"
    return "knex"


# --- SQL ------------------------------------------------------------------------------------------


def _code(statement: str) -> str:
    """The statement without its comment lines (the splitter keeps comments in the text)."""
    out = re.sub(r"/\*.*?\*/", " ", statement, flags=re.DOTALL)
    return "\n".join(ln.split("--", 1)[0] if not _in_quotes_before(ln) else ln for ln in out.splitlines()).strip()


def _in_quotes_before(line: str) -> bool:
    head = line.split("--", 1)[0]
    return head.count("'") % 2 == 1


def _table_of(statement: str) -> tuple[str, str] | None:
    try:
        spec = parse_create(statement).spec
    except ValueError:
        return None
    return spec.schema, spec.table


def _created_table(statement: str) -> tuple[str, str] | None:
    m = _CREATE_TABLE.match(statement)
    if not m:
        return None
    from perftool.ddl import split_qualified

    try:
        return split_qualified(m.group(1))
    except ValueError:
        return None


def lint_sql(ctx: Context) -> None:
    statements = [(line, _code(s)) for line, s in split_statements(ctx.text)]
    statements = [(line, s) for line, s in statements if s]
    fw = ctx.framework
    one_query = fw in ("golang-migrate", "prisma")
    concurrent = [(line, s) for line, s in statements if _CONCURRENT.search(s)]
    if one_query and concurrent and len(statements) > 1:
        ctx.add(
            code="M105",
            line=concurrent[0][0],
            detail=f"{fw} sends this file as one query (an implicit transaction): its {len(statements)} statements "
            f"include {len(concurrent)} concurrent one(s), which PostgreSQL refuses there.",
            fix="One concurrent statement per migration file (perftool indexes generate --framework " + fw + ").",
            statements=len(statements),
        )
    in_transaction = (
        fw == "flyway"
        and not re.search(r"flyway:executeInTransaction\s*=\s*false", ctx.text)
        or fw == "goose"
        and not re.search(r"\+goose\s+NO\s+TRANSACTION", ctx.text, re.IGNORECASE)
    )
    why_tx = {
        "flyway": "Flyway runs the file in a transaction (no -- flyway:executeInTransaction=false)",
        "goose": "goose runs the file in a transaction (no -- +goose NO TRANSACTION)",
    }.get(fw, "")
    created: set[tuple[str, str]] = set()
    lock_timeout = False
    guarded = False
    block = False
    lone = one_query and len(statements) == 1 and bool(concurrent)
    if lone:  # the guard of a lone build is in the step that runs before it
        guarded = bool(_GUARD.search(_step_before(ctx.path, fw)))
    for line, s in statements:
        if _BEGIN.match(s):
            block = True
            continue
        if _END.match(s):
            block = False
            continue
        if _LOCK_TIMEOUT.search(s):
            lock_timeout = True
        if _GUARD.search(s) or re.match(r"^\s*DROP\s+INDEX\b", s, re.IGNORECASE):
            guarded = True
        table = _created_table(s)
        if table:
            created.add(table)
            continue
        if _CONCURRENT.search(s) and (block or in_transaction):
            ctx.add(
                code="M101",
                line=line,
                detail=(why_tx or "The statement is between BEGIN and COMMIT")
                + ": PostgreSQL refuses a concurrent index statement inside a transaction block.",
                fix="Run it outside a transaction (docs/migrations.md).",
            )
        if not _INDEX_DDL.match(s):
            continue
        if not lock_timeout and not lone:
            ctx.add(
                code="M104",
                line=line,
                detail="No SET lock_timeout before this index DDL: waiting for its lock, it queues "
                "every later statement on the table.",
                fix="SET lock_timeout = '5s'; before it.",
            )
            lock_timeout = True  # once per file
        if _CREATE_INDEX.match(s):
            target = _table_of(s)
            only = re.search(r"\bON\s+ONLY\b", s, re.IGNORECASE)
            if not _CONCURRENT_WORD.search(s) and not only and target is not None and target not in created:
                ctx.add(
                    code="M102",
                    line=line,
                    detail=f"This CREATE INDEX on {target[0]}.{target[1]} without CONCURRENTLY blocks its "
                    "writes for the whole build.",
                    fix="CREATE INDEX CONCURRENTLY, outside a transaction.",
                    table=f"{target[0]}.{target[1]}",
                )
            if _IF_NOT_EXISTS.search(s) and _CONCURRENT_WORD.search(s) and not guarded:
                ctx.add(
                    code="M103",
                    line=line,
                    detail="CREATE INDEX CONCURRENTLY IF NOT EXISTS keeps an INVALID index left by a "
                    "failed earlier build, and the migration then counts as done.",
                    fix="Drop an INVALID index of that name first (check pg_index.indisvalid), and check "
                    "indisvalid after the build.",
                )


def _step_before(path: str, framework: str) -> str:
    """The text of the migration step that runs just before this one-query file ('' if none):
    golang-migrate's previous version (up) or next version (down); Prisma's previous folder (its
    migration.sql) or next folder (down.sql)."""
    p = Path(path)
    try:
        if framework == "golang-migrate":
            kind = ".down.sql" if p.name.endswith(".down.sql") else ".up.sql"
            steps = sorted(
                (f for f in p.parent.glob("*" + kind) if _GOLANG_MIGRATE.match(f.name)),
                key=lambda f: int(f.name.split("_", 1)[0]),
            )
        else:
            kind = p.name
            steps = sorted(f / kind for f in p.parent.parent.iterdir() if (f / kind).is_file())
        if p not in steps:
            return ""
        i = steps.index(p)
        j = i + 1 if kind in (".down.sql", "down.sql") else i - 1
        return steps[j].read_text(encoding="utf-8", errors="replace") if 0 <= j < len(steps) else ""
    except (OSError, ValueError):
        return ""


# --- code frameworks ------------------------------------------------------------------------------


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _text_rules(ctx: Context, concurrent_at: int | None) -> None:
    """M103 / M104 on a code migration's text as a whole (its SQL strings and option names)."""
    text = ctx.text
    ine = re.search(r"IF\s+NOT\s+EXISTS|if_not_exists\s*[:=]\s*(?:true|True)", text, re.IGNORECASE)
    index_op = re.search(
        r"CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|ALTER\s+INDEX|REINDEX|\badd_index\b|"
        r"\bremove_index\b|create_index\(|drop_index\(|AddIndex|RemoveIndex|\.index\(|dropIndex\(",
        text,
        re.IGNORECASE,
    )
    if ine and concurrent_at is not None and not _GUARD.search(text):
        ctx.add(
            code="M103",
            line=_line_of(text, ine.start()),
            detail="The index is created IF NOT EXISTS without a check of "
            "pg_index.indisvalid: an INVALID leftover of a failed build is kept and counted as done.",
            fix="Drop an INVALID index of that name first and check indisvalid after the build.",
        )
    if index_op and not re.search(r"lock_timeout", text, re.IGNORECASE):
        ctx.add(
            code="M104",
            line=_line_of(text, index_op.start()),
            detail="No lock_timeout is set before this index DDL.",
            fix="Execute SET lock_timeout = '5s' first.",
        )


def _python_tree(ctx: Context) -> ast.Module | None:
    try:
        return ast.parse(ctx.text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _is_concurrent_node(node: ast.AST, concurrent_names: set[str]) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(
            _CONCURRENT.search(node.value)
            or _CONCURRENT_WORD.search(node.value)
            and re.search(r"\bINDEX\b", node.value, re.IGNORECASE)
        )
    if isinstance(node, ast.keyword) and node.arg == "postgresql_concurrently":
        return not (isinstance(node.value, ast.Constant) and not node.value.value)
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        return node.id in concurrent_names
    return False


def _module_concurrent_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_concurrent_node(n, set()) for n in ast.walk(node.value)):
                names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _first_concurrent(text: str) -> int | None:
    m = _CONCURRENT.search(text) or re.search(
        r"postgresql_concurrently\s*=\s*True|algorithm:\s*:concurrently|"
        r"AddIndexConcurrently|RemoveIndexConcurrently|CONCURRENTLY",
        text,
    )
    return m.start() if m else None


def lint_alembic(ctx: Context) -> None:
    text = ctx.text
    first = _first_concurrent(text)
    tree = _python_tree(ctx)
    if tree is None:
        if first is not None and "autocommit_block" not in text:
            ctx.add(
                code="M106",
                line=_line_of(text, first),
                detail="A concurrent index statement, and no autocommit_block() in "
                "the file: Alembic runs it in the migration's transaction.",
                fix=_ALEMBIC_FIX,
            )
    else:
        names = _module_concurrent_names(tree)
        for func in (n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            _alembic_walk(ctx, func, names, inside=False)
    _text_rules(ctx, first)


_ALEMBIC_FIX = "with op.get_context().autocommit_block(): around the concurrent operation."


def _alembic_walk(ctx: Context, node: ast.AST, names: set[str], inside: bool) -> None:
    for child in ast.iter_child_nodes(node):
        here = inside
        if isinstance(child, (ast.With, ast.AsyncWith)) and any(
            "autocommit_block" in ast.dump(item.context_expr) for item in child.items
        ):
            here = True
        if not here and _is_concurrent_node(child, names):
            ctx.add(
                code="M106",
                line=int(getattr(child, "lineno", None) or getattr(node, "lineno", None) or 1),
                detail="A concurrent index operation outside op.get_context().autocommit_block(): Alembic runs it "
                "in the migration's transaction, which PostgreSQL refuses.",
                fix=_ALEMBIC_FIX,
            )
            return  # once per function
        _alembic_walk(ctx, child, names, here)


def lint_django(ctx: Context) -> None:
    text = ctx.text
    first = _first_concurrent(text)
    if first is not None:
        atomic_false = None
        tree = _python_tree(ctx)
        if tree is not None:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    for stmt in node.body:
                        if isinstance(stmt, ast.Assign) and any(
                            isinstance(t, ast.Name) and t.id == "atomic" for t in stmt.targets
                        ):
                            atomic_false = isinstance(stmt.value, ast.Constant) and stmt.value.value is False
        else:
            atomic_false = bool(re.search(r"^\s*atomic\s*=\s*False\b", text, re.MULTILINE))
        if not atomic_false:
            ctx.add(
                code="M107",
                line=_line_of(text, first),
                detail="A concurrent index operation in an atomic migration: Django "
                "runs it in a transaction, which PostgreSQL refuses.",
                fix="atomic = False on the Migration class.",
            )
    _text_rules(ctx, first)


def lint_rails(ctx: Context) -> None:
    text = ctx.text
    first = _first_concurrent(text)
    disabled = re.search(r"^\s*disable_ddl_transaction!", text, re.MULTILINE)
    if first is not None and not disabled:
        ctx.add(
            code="M101",
            line=_line_of(text, first),
            detail="A concurrent index without disable_ddl_transaction!: Rails runs "
            "the migration in a transaction, which PostgreSQL refuses.",
            fix="disable_ddl_transaction! in the class.",
        )
    if disabled:
        other = _RAILS_OTHER_DDL.search(text) or _SQL_OTHER_DDL.search(text)
        if other:
            ctx.add(
                code="M108",
                line=_line_of(text, other.start()),
                detail="disable_ddl_transaction! turns the transaction off "
                "for the whole migration, which also changes tables here: a failure half-way leaves the "
                "schema half-changed.",
                fix="Move the table changes into a migration of their own.",
            )
    _text_rules(ctx, first)


def lint_knex(ctx: Context) -> None:
    text = ctx.text
    first = _first_concurrent(text)
    if first is not None and not re.search(r"config\s*=\s*\{[^}]*transaction\s*:\s*false", text):
        ctx.add(
            code="M101",
            line=_line_of(text, first),
            detail="A concurrent index statement and no exports.config = "
            "{ transaction: false }: knex runs the migration in a transaction, which PostgreSQL refuses.",
            fix="exports.config = { transaction: false };",
        )
    _text_rules(ctx, first)


LINTERS = {
    "sql": lint_sql,
    "flyway": lint_sql,
    "goose": lint_sql,
    "golang-migrate": lint_sql,
    "prisma": lint_sql,
    "alembic": lint_alembic,
    "django": lint_django,
    "rails": lint_rails,
    "knex": lint_knex,
}


def lint_text(path: str, text: str, framework: str | None = None) -> list[Finding]:
    ctx = Context(path, text, framework or detect(path, text))
    LINTERS[ctx.framework](ctx)
    return ctx.findings


def migration_files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out += sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.suffix.lower() in SUFFIXES
                and not any(
                    part.startswith(".") or part in ("node_modules", "__pycache__") for part in f.relative_to(p).parts
                )
            )
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"{raw}: no such file or directory")
    return out


def lint_report(paths: list[str], framework: str | None = None) -> Report:
    """Lint every migration file under `paths`: one Report with the M1xx findings and the files read."""
    from perftool.report.model import Column

    if framework is not None and framework not in LINT_FRAMEWORKS:
        from perftool.db.errors import UsageError

        raise UsageError(f"unknown framework {framework!r}", f"choose one of: {', '.join(LINT_FRAMEWORKS)}")
    findings: list[Finding] = []
    rows = []
    for f in migration_files(paths):
        try:
            if f.stat().st_size > MAX_BYTES:
                raise InputError(f"{f}: larger than {MAX_BYTES // 1_000_000} MB, not a migration")
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise InputError(f"cannot read {f}: {exc.strerror}") from None
        found = lint_text(str(f), text, framework)
        findings += found
        rows.append({"file": str(f), "framework": framework or detect(str(f), text), "findings": len(found)})
    section = Section(
        "files",
        f"{len(rows)} migration file(s), {len(findings)} finding(s)",
        [Column("file", "file"), Column("framework", "framework"), Column("findings", "findings", "int")],
        rows,
    )
    return Report(command="indexes lint", sections=[section], findings=findings)
