"""perftool.ddl writes its statements from the db/sql templates parsed once (`_fill`): the text is
exactly what psycopg's `sql.SQL(template).format(...)` gives, for any identifier."""

from hypothesis import given
from hypothesis import strategies as st
from psycopg import sql

from perftool import ddl

names = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=70)


@given(names, names, st.booleans())
def test_drop_and_attach_text_is_psycopgs(schema, name, concurrently):
    want = sql.SQL(ddl._template("index_drop")).format(
        concurrently=sql.SQL(" CONCURRENTLY" if concurrently else ""), index=sql.Identifier(schema, name))
    assert ddl.drop_sql(schema, name, concurrently=concurrently) == want.as_string(None)
    attach = sql.SQL(ddl._template("index_attach")).format(parent=sql.Identifier(schema, name),
                                                           child=sql.Identifier(name, schema))
    assert ddl.attach_sql(schema, name, name, schema) == attach.as_string(None)


@given(names, names, st.lists(names, min_size=1, max_size=3), st.booleans(), st.booleans())
def test_create_text_is_psycopgs(schema, table, columns, unique, only):
    spec = ddl.plain(schema, table, columns, unique=unique, include=("id",), where="deleted_at IS NULL")
    fields = spec._fields()
    if only:
        want = sql.SQL(ddl._template("index_create_only")).format(
            if_not_exists=sql.SQL(""), name=sql.Identifier("n"), **fields)
    else:
        want = sql.SQL(ddl._template("index_create")).format(
            concurrently=sql.SQL(" CONCURRENTLY"), if_not_exists=sql.SQL(""),
            name=sql.Composed([sql.SQL(" "), sql.Identifier("n")]), **fields)
    assert spec.create_sql(name="n", only=only) == want.as_string(None)


def test_a_drop_statement():
    assert ddl.drop_sql("public", 'Odd "name"') == 'DROP INDEX CONCURRENTLY IF EXISTS "public"."Odd ""name"""'
