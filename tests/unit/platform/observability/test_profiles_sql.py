"""SQL fingerprints: the same query with other values is one fingerprint, another query is not."""

from lifeceo.platform.observability.profiles_sql import fingerprint


def test_literals_and_parameters_become_one_placeholder():
    assert (fingerprint("SELECT * FROM posts WHERE id = 42 AND title = 'it''s' AND x = $1 "
                        "AND y = %(y_1)s AND z = 1.5e-3")
            == "SELECT * FROM posts WHERE id = ? AND title = ? AND x = ? AND y = ? AND z = ?")
    assert fingerprint("SELECT E'a\\'b', $$body$$, $fn$x$fn$") == "SELECT ?, ?, ?"


def test_in_lists_of_any_length_are_one_fingerprint():
    one = fingerprint("SELECT id FROM users WHERE id IN (%(id_1_1)s)")
    three = fingerprint("SELECT id FROM users WHERE id IN (%(id_1_1)s, %(id_1_2)s, %(id_1_3)s)")
    literal = fingerprint("SELECT id FROM users WHERE id IN (1, 2, 3, 4, 5)")
    assert one == three == literal == "SELECT id FROM users WHERE id IN (?)"
    assert fingerprint("SELECT ARRAY[1, 2, 3]") == fingerprint("SELECT ARRAY[7]") \
        == "SELECT ARRAY[?]"


def test_values_rows_of_any_number_are_one_fingerprint():
    two = fingerprint("INSERT INTO t (a, b) VALUES (%(a__0)s, %(b__0)s), (%(a__1)s, %(b__1)s) "
                      "RETURNING t.id")
    one = fingerprint("INSERT INTO t (a, b) VALUES (1, 'x') RETURNING t.id")
    assert two == one == "INSERT INTO t (a, b) VALUES (?) RETURNING t.id"


def test_comments_go_and_whitespace_collapses():
    assert (fingerprint("SELECT a -- the first\n  FROM   t /* a\nblock */ WHERE\tb = 1")
            == "SELECT a FROM t WHERE b = ?")


def test_casts_are_kept_and_their_literal_replaced():
    assert fingerprint("SELECT 'x'::text, 3::int") == "SELECT ?::text, ?::int"
    assert (fingerprint("SELECT 1 WHERE t.id = ANY(%(ids)s::int[])")
            == "SELECT ? WHERE t.id = ANY(?::int[])")
    assert (fingerprint("SELECT 1 WHERE a IN ($1::int, $2::int)")
            == fingerprint("SELECT 1 WHERE a IN ($1::int)") == "SELECT ? WHERE a IN (?::int)")


def test_negative_numbers_are_literals_and_subtraction_is_kept():
    assert (fingerprint("SELECT a FROM t WHERE b = -3 AND c > - 2")
            == "SELECT a FROM t WHERE b = ? AND c > ?")
    assert fingerprint("SELECT -1, x - 1 FROM t") == "SELECT ?, x - ? FROM t"
    assert fingerprint("SELECT a FROM t WHERE b = -3") == fingerprint("SELECT a FROM t WHERE b = 7")
    assert fingerprint("SELECT x - 3 FROM t") != fingerprint("SELECT x FROM t")


def test_quoted_identifiers_and_numbered_names_are_kept():
    assert (fingerprint('SELECT "Weird ""1"" name", posts_1.id FROM posts AS posts_1 LIMIT 10')
            == 'SELECT "Weird ""1"" name", posts_1.id FROM posts AS posts_1 LIMIT ?')
    assert fingerprint('SELECT "a" FROM t') != fingerprint('SELECT "b" FROM t')


def test_different_statements_keep_different_fingerprints():
    assert fingerprint("SELECT a FROM t WHERE b = 1") != fingerprint("SELECT a FROM u WHERE b = 1")
    assert fingerprint("SELECT count(*) FROM t") == "SELECT count(*) FROM t"
