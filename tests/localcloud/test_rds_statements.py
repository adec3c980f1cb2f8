"""Named parameters of Data API SQL, found with PostgreSQL's lexical rules."""

from __future__ import annotations

from localcloud.rds.statements import translate


def test_named_parameters_become_positional_in_order_of_use():
    """Each :name of a given parameter becomes a placeholder, repeated names included, in
    the order they appear; other % signs are escaped for the driver."""
    translated = translate("UPDATE t SET a = :a, pct = a % 2 WHERE b = :b OR c = :a", {"a", "b"})
    assert translated.text == "UPDATE t SET a = %s, pct = a %% 2 WHERE b = %s OR c = %s"
    assert translated.names == ("a", "b", "a")
    assert translated.statements == 1


def test_literals_identifiers_comments_and_casts_are_not_parameters():
    """':a' in string literals (also E'' and dollar-quoted), in quoted identifiers and in
    comments is text, and :: is a cast, not a parameter."""
    sql = (
        "SELECT ':a', E'\\':a', $$ :a $$, $q$ :a $q$, \":a\", x::text, :a "
        "/* :a /* nested :a */ */ -- :a\n"
    )
    translated = translate(sql, {"a", "text"})
    assert translated.names == ("a",)
    assert translated.text.count("%s") == 1
    assert "x::text" in translated.text


def test_unknown_names_stay_for_postgresql_to_report():
    """A :name with no parameter of that name is left in the SQL (PostgreSQL then reports the
    syntax error, as the service does)."""
    translated = translate("SELECT :missing, :given", {"given"})
    assert translated.text == "SELECT :missing, %s"
    assert translated.names == ("given",)


def test_statements_are_counted_outside_literals_and_comments():
    """Semicolons inside literals or comments do not separate statements; a trailing
    semicolon does not make a second statement."""
    assert translate("SELECT ';'; -- ;", set()).statements == 1
    assert translate("SELECT 1;", set()).statements == 1
    assert translate("SELECT 1; SELECT 2", set()).statements == 2
