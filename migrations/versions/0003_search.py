"""search: the posts' document trigger and the vocabulary behind "did you mean"

Revision ID: 0003
Revises: 0002

Hand-written: autogenerate cannot express triggers or materialized views. A post's document
includes its author's name, which lives in another table, so a trigger writes it (a generated
column may only read its own row), and a rename rewrites the author's posts in the same
transaction. search_terms holds the public vocabulary (words of public posts, events and
people); `lifeceo search reindex` refreshes it.
"""

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# ts_stat parses its query when the view is refreshed, and PostgreSQL 17+ refreshes with only
# pg_catalog on the search path: every name in it is qualified with the schema migrated into.
UPGRADE = """
CREATE FUNCTION lifeceo_posts_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := lifeceo_posts_search_vector(
        NEW.body, NEW.tags,
        (SELECT username || ' ' || display_name FROM users WHERE id = NEW.author_id));
    RETURN NEW;
END
$$;
CREATE TRIGGER posts_search_document BEFORE INSERT OR UPDATE OF body, tags, author_id ON posts
    FOR EACH ROW EXECUTE FUNCTION lifeceo_posts_search_document();

CREATE FUNCTION lifeceo_users_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Setting author_id fires posts_search_document, which reads the new name.
    UPDATE posts SET author_id = author_id WHERE author_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_search_renamed AFTER UPDATE OF username, display_name ON users
    FOR EACH ROW
    WHEN (OLD.username IS DISTINCT FROM NEW.username
          OR OLD.display_name IS DISTINCT FROM NEW.display_name)
    EXECUTE FUNCTION lifeceo_users_renamed();

UPDATE posts SET author_id = author_id;

-- Only what anyone may see: a word of a private post must not come back as a suggestion.
CREATE MATERIALIZED VIEW search_terms AS
SELECT word AS term, ndoc AS documents
FROM ts_stat($q$
    SELECT to_tsvector('{schema}.lifeceo_simple',
                       body || ' ' || {schema}.lifeceo_search_words(tags))
    FROM {schema}.posts WHERE visibility = 'public'
    UNION ALL
    SELECT to_tsvector('{schema}.lifeceo_simple',
                       title || ' ' || city || ' ' || {schema}.lifeceo_search_words(tags))
    FROM {schema}.events WHERE cancelled_at IS NULL
    UNION ALL
    SELECT to_tsvector('{schema}.lifeceo_simple', username || ' ' || display_name || ' ' || city
                       || ' ' || {schema}.lifeceo_search_words(roles))
    FROM {schema}.users
$q$)
WHERE char_length(word) BETWEEN 3 AND 40 AND word !~ '^[0-9]+$';
-- Unique: REFRESH ... CONCURRENTLY needs it, and prefix lookups (text_pattern_ops) use it.
CREATE UNIQUE INDEX ix_search_terms_term ON search_terms (term text_pattern_ops);
CREATE INDEX ix_search_terms_trgm ON search_terms USING gin (term gin_trgm_ops);

-- No statistics for the names matched by trigram similarity: the planner estimates `%>` by
-- applying it to every sampled value (up to 100 common values and 100 histogram bounds),
-- which took 0.3 to 0.9 ms per condition, most of planning a search of people or events.
-- Without them it assumes a fixed selectivity and uses the trigram indexes all the same.
ALTER TABLE users ALTER COLUMN username SET STATISTICS 0;
ALTER INDEX ix_users_display_name_trgm ALTER COLUMN 1 SET STATISTICS 0;
ALTER INDEX ix_events_title_trgm ALTER COLUMN 1 SET STATISTICS 0;
"""

DOWNGRADE = """
ALTER INDEX ix_events_title_trgm ALTER COLUMN 1 SET STATISTICS -1;
ALTER INDEX ix_users_display_name_trgm ALTER COLUMN 1 SET STATISTICS -1;
ALTER TABLE users ALTER COLUMN username SET STATISTICS -1;
DROP MATERIALIZED VIEW search_terms;
DROP TRIGGER users_search_renamed ON users;
DROP FUNCTION lifeceo_users_renamed;
DROP TRIGGER posts_search_document ON posts;
DROP FUNCTION lifeceo_posts_search_document;
UPDATE posts SET search_vector = NULL;
"""


def _execute_script(sql: str) -> None:
    """Several statements and $$ bodies: the driver's cursor with no parameters."""
    with op.get_bind().connection.cursor() as cursor:
        cursor.execute(sql)


def upgrade() -> None:
    schema = op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
    # str.replace, not format: the SQL is full of braces.
    _execute_script(UPGRADE.replace("{schema}", schema))


def downgrade() -> None:
    _execute_script(DOWNGRADE)
