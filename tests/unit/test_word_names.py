"""`statement_text.word_names`: every name a statement could call a relation by, read without
parsing — a superset of the names `relation_names` finds, whatever quotes, strings, comments and
dollar quotes surround them (the advisor reads its catalog for these names beside the parse)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from perftool.workload.statement_text import relation_names, word_names

plain = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
quoted_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8)
keyword = st.sampled_from(["event", "user", "select", "status", "comment", "filter", "window", "data"])


@st.composite
def relation(draw):
    name = draw(st.one_of(plain, keyword.map(lambda k: f'"{k}"'),
                          quoted_text.map(lambda t: '"' + t.replace('"', '""') + '"')))
    if draw(st.booleans()):
        name = draw(plain) + "." + name
    return name


noise = st.one_of(
    st.just(""),
    quoted_text.map(lambda t: " /* " + t.replace("*/", "") + " /* nested \"x */ */ "),
    quoted_text.map(lambda t: " -- " + t.replace("\n", " ") + "\n"),
    quoted_text.map(lambda t: " AND note = '" + t.replace("'", "''") + "'"),
    quoted_text.map(lambda t: " AND note = E'" + t.replace("\\", "\\\\").replace("'", "\\'") + "'"),
    quoted_text.map(lambda t: " AND note = $q$" + t.replace("$q$", "") + "$q$"),
)


@st.composite
def statement(draw):
    first, second = draw(relation()), draw(relation())
    join = draw(st.sampled_from(["", f" JOIN {second} b ON b.id = a.id", f", {second} b"]))
    return f"SELECT a.* FROM {first} a{join} WHERE a.id = $1{draw(noise)}{draw(noise)}"


@settings(max_examples=300, deadline=None)
@given(statement())
def test_word_names_hold_every_relation_name(text):
    words = word_names(text)
    assert words is not None
    assert {name for _schema, name in relation_names(text)} <= words, text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_word_names_read_any_text(text):
    words = word_names(text)
    assert words is None or isinstance(words, set)


def test_word_names_examples():
    text = ('SELECT "A""b".x FROM Orders o /* c /* n\' */ "Hid" */ JOIN "T" USING (id) '
            "WHERE n = 'it''s \"no\"' AND m = $q$ \"dq\" $q$ AND e = E'a\\'\"b'")
    words = word_names(text)
    assert {"A\"b", "orders", "Orders", "T", "id"} <= words
    assert not {"Hid", "no", "dq", "b"} & words          # inside comments and strings
    assert word_names('SELECT * FROM U&"d\\0061t"') is None      # parse that one
    assert {"äbc", "ÄBC"} <= word_names("SELECT * FROM ÄBC")
