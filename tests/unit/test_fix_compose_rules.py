"""compose_fixes on hand-built findings (no server): the rules one by one."""

from perftool.health.checks.fix_compose import compose_fixes
from perftool.health.checks.fix_sql import FixPlan, FixStep, KeyPart, create_step
from perftool.report.model import Finding


def finding(code, obj, steps, fix=None, severity="warning"):
    text = fix if fix is not None else "\n".join(dict.fromkeys(s.sql for s in steps))
    return Finding(code, severity, f"{code} {obj}", obj, fix=text, plan=FixPlan(text, list(steps)))


def drop(name, table="t", keep="", alternative=""):
    return FixStep("drop_index", "public", table, name, f'DROP INDEX CONCURRENTLY IF EXISTS "public"."{name}";',
                   keep=keep, alternative=alternative)


def test_same_index_twice_is_created_once_and_a_taken_name_moves():
    a = finding("T201", "public.t", [create_step("public", "t", [KeyPart(column="a")])])
    b = finding("I105", "public.t.t_a_fkey", [create_step("public", "t", [KeyPart(column="a")])])
    c = finding("I105", "public.t.t_b_fkey", [create_step("public", "t", [KeyPart(column="b")])])
    compose_fixes([a, b, c], taken={("public", "t_b_idx")})
    assert a.fix.startswith('CREATE INDEX CONCURRENTLY "t_a_idx"')
    assert b.fix == '-- "t_a_idx": the same index as the fix of T201 public.t'
    assert c.fix.startswith('CREATE INDEX CONCURRENTLY "t_b2_idx"')


def test_taken_names_are_read_only_when_a_generated_name_needs_them():
    calls = []

    def taken():
        calls.append(1)
        return {("public", "t_b_idx")}

    c = finding("I105", "public.t.t_b_fkey", [create_step("public", "t", [KeyPart(column="b")])])
    compose_fixes([c], taken)
    assert calls == [1] and c.fix.startswith('CREATE INDEX CONCURRENTLY "t_b2_idx"')
    compose_fixes([finding("I104", "public.t_x", [drop("t_x")])], taken)     # no index made: not called
    declared = create_step("public", "t", [KeyPart(column="b")], name="t_b_idx", declared=True)
    compose_fixes([finding("I201", "public.t_b_idx", [declared], severity="error")], taken)   # declared name
    assert calls == [1]


def test_a_declared_name_wins_over_an_earlier_generated_one():
    gen = finding("T201", "public.t", [create_step("public", "t", [KeyPart(column="a"), KeyPart(column="b")])])
    other = create_step("public", "t", [KeyPart(column="b")], name="t_a_b_idx", declared=True)
    declared = finding("I201", "public.t_a_b_idx", [other], severity="error")
    compose_fixes([gen, declared])
    assert declared.fix.startswith('CREATE INDEX CONCURRENTLY "t_a_b_idx" ON "public"."t" USING btree ("b")')
    assert gen.fix.startswith('CREATE INDEX CONCURRENTLY "t_a_b2_idx"')


def test_the_covering_index_of_an_overlap_is_not_dropped_too():
    overlap = finding("I103", "public.t_a", [drop("t_a", keep="public.t_a_b")])
    unused = finding("I104", "public.t_a_b", [drop("t_a_b")])
    compose_fixes([overlap, unused])
    assert overlap.fix == 'DROP INDEX CONCURRENTLY IF EXISTS "public"."t_a";'
    assert unused.fix.startswith("-- not dropped: public.t_a_b is the copy kept when the fix of I103 public.t_a")


def test_t102_defers_to_a_declared_key_on_existing_columns():
    add = 'ALTER TABLE "public"."t" ADD COLUMN "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;'
    t102 = finding("T102", "public.t", [
        FixStep("add_column", "public", "t", "id", add, alternative="ALTER TABLE ... ADD COLUMN id;"),
        FixStep("add_primary_key", "public", "t", "t_pkey", add, needs=("id",))])
    promote = 'ALTER TABLE "public"."t" ADD CONSTRAINT "t_pkey" PRIMARY KEY USING INDEX "t_pkey";'
    i201 = finding("I201", "public.t_pkey", [
        create_step("public", "t", [KeyPart(column="code")], name="t_pkey", unique=True, declared=True),
        FixStep("add_primary_key", "public", "t", "t_pkey", promote, needs=("code",), generated_name=False)],
        severity="error")
    compose_fixes([i201, t102])
    assert t102.fix == "-- the declared primary key is built by the fix of I201 public.t_pkey"
    assert not i201.fix.startswith("-- run after")


def test_findings_without_a_plan_are_left_alone():
    plain = Finding("Q101", "warning", "slow", "queryid:1", fix="Look at the plan.")
    compose_fixes([plain])
    assert plain.fix == "Look at the plan."
