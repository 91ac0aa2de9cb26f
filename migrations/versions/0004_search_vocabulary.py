"""search vocabulary: kept current by the writes themselves instead of a periodic refresh

Revision ID: 0004
Revises: 0003

Hand-written: triggers. The materialized view search_terms was refreshed every 15 minutes, so
a new word ("tango" in a first post) could not correct a typo until then, and a word of a post
made private stayed suggestible as long. Now each statement writing posts, events or users
appends its vocabulary changes (+1 per public document gaining a word, -1 per document losing
it) to search_term_changes, in its own transaction: insert-only, so concurrent writers never
wait on a shared counter row (a counter per word would serialise every post containing "de").
A job folds the changes into search_term_counts every minute; search_terms, now a view, adds
the two, so what readers see is exact as of the last commit whatever the job does.
"""

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The vocabulary document of each table's row `r` (NULL: it contributes no word), as the
# materialized view of 0003 read them: only what anyone may see.
DOCUMENTS = {
    "posts": "CASE WHEN r.visibility = 'public' THEN r.body || ' ' || lifeceo_search_words(r.tags) END",
    "events": "CASE WHEN r.cancelled_at IS NULL"
              " THEN r.title || ' ' || r.city || ' ' || lifeceo_search_words(r.tags) END",
    "users": "r.username || ' ' || r.display_name || ' ' || r.city || ' '"
             " || lifeceo_search_words(r.roles)",
}
# The words of documents `d(document, delta)`, with the filter of 0003's view. Inline rather
# than an SQL function: one with a pinned search path is planned on every call (0000).
WORDS = """
    SELECT word AS term, sum(d.delta)::integer AS delta
    FROM {documents} AS d(document, delta),
         unnest(tsvector_to_array(to_tsvector('lifeceo_simple', d.document))) AS word
    WHERE char_length(word) BETWEEN 3 AND 40 AND word !~ '^[0-9]+$'
    GROUP BY word HAVING sum(d.delta) <> 0
"""

TRIGGER = """
CREATE FUNCTION lifeceo_{table}_vocabulary() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO search_term_changes (term, delta)
        {inserted};
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO search_term_changes (term, delta)
        {deleted};
    ELSE
        -- Most updates (counters, last seen) leave the document alone: compare the text
        -- first, analyse only the rows whose document changed.
        INSERT INTO search_term_changes (term, delta)
        WITH changed AS (
            SELECT old_document, new_document
            FROM (SELECT r.id, {document} AS old_document FROM old_rows AS r) AS o
            JOIN (SELECT r.id, {document} AS new_document FROM new_rows AS r) AS n USING (id)
            WHERE old_document IS DISTINCT FROM new_document)
        {updated};
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER {table}_vocabulary_inserted AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lifeceo_{table}_vocabulary();
CREATE TRIGGER {table}_vocabulary_updated AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lifeceo_{table}_vocabulary();
CREATE TRIGGER {table}_vocabulary_deleted AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION lifeceo_{table}_vocabulary();
"""


def _trigger(table: str) -> str:
    document = DOCUMENTS[table]
    return TRIGGER.format(
        table=table, document=document,
        inserted=WORDS.format(documents=f"(SELECT {document}, 1 FROM new_rows AS r)"),
        deleted=WORDS.format(documents=f"(SELECT {document}, -1 FROM old_rows AS r)"),
        updated=WORDS.format(documents="(SELECT new_document, 1 FROM changed UNION ALL"
                                       " SELECT old_document, -1 FROM changed)"))


ALL_DOCUMENTS = " UNION ALL ".join(f"SELECT {document}, 1 FROM {table} AS r"
                                   for table, document in DOCUMENTS.items())

UPGRADE = """
DROP MATERIALIZED VIEW search_terms;

CREATE TABLE search_term_counts (term text NOT NULL, documents integer NOT NULL);
-- Unique: the fold's upsert; text_pattern_ops: prefix lookups (suggestions) use it.
CREATE UNIQUE INDEX ix_search_term_counts_term ON search_term_counts (term text_pattern_ops);
CREATE INDEX ix_search_term_counts_trgm ON search_term_counts USING gin (term gin_trgm_ops);
-- The words no document holds any more, which each fold deletes.
CREATE INDEX ix_search_term_counts_unused ON search_term_counts (term) WHERE documents <= 0;

CREATE TABLE search_term_changes (term text NOT NULL, delta integer NOT NULL);
CREATE INDEX ix_search_term_changes_term ON search_term_changes (term text_pattern_ops);
CREATE INDEX ix_search_term_changes_trgm ON search_term_changes USING gin (term gin_trgm_ops);

-- Readers' conditions on term (=, LIKE 'x%', %) are pushed into both branches and use their
-- indexes; the sum is then over every row of each matching term.
CREATE VIEW search_terms AS
SELECT term, sum(documents)::integer AS documents
FROM (SELECT term, documents FROM search_term_counts
      UNION ALL
      SELECT term, delta FROM search_term_changes) AS counted
GROUP BY term HAVING sum(documents) > 0;

-- One fold at a time; the changes it moves and the counts it adds commit together.
CREATE FUNCTION lifeceo_search_terms_fold() RETURNS bigint LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    folded bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('lifeceo_search_terms'));
    WITH moved AS (DELETE FROM search_term_changes RETURNING term, delta),
         summed AS (SELECT term, sum(delta)::integer AS delta FROM moved GROUP BY term
                    HAVING sum(delta) <> 0)
    INSERT INTO search_term_counts AS counts (term, documents)
    SELECT term, delta FROM summed ORDER BY term
    ON CONFLICT (term) DO UPDATE SET documents = counts.documents + excluded.documents;
    GET DIAGNOSTICS folded = ROW_COUNT;
    DELETE FROM search_term_counts WHERE documents <= 0;
    RETURN folded;
END
$$;

-- A recount from the documents, after a text search configuration change (`lifeceo search
-- reindex`). Writers wait for it: a change committed between its snapshot and its end would
-- otherwise be counted twice or lost.
CREATE FUNCTION lifeceo_search_terms_rebuild() RETURNS void LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('lifeceo_search_terms'));
    LOCK TABLE search_term_changes IN SHARE MODE;
    DELETE FROM search_term_changes;
    DELETE FROM search_term_counts;
    INSERT INTO search_term_counts (term, documents)
    {recount};
END
$$;
""".replace("{recount}", WORDS.format(documents=f"({ALL_DOCUMENTS})")) + "".join(
    _trigger(table) for table in DOCUMENTS) + """
SELECT lifeceo_search_terms_rebuild();
"""

DOWNGRADE = "".join(f"""
DROP TRIGGER {table}_vocabulary_inserted ON {table};
DROP TRIGGER {table}_vocabulary_updated ON {table};
DROP TRIGGER {table}_vocabulary_deleted ON {table};
DROP FUNCTION lifeceo_{table}_vocabulary;
""" for table in DOCUMENTS) + """
DROP FUNCTION lifeceo_search_terms_rebuild;
DROP FUNCTION lifeceo_search_terms_fold;
DROP VIEW search_terms;
DROP TABLE search_term_changes;
DROP TABLE search_term_counts;
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
CREATE UNIQUE INDEX ix_search_terms_term ON search_terms (term text_pattern_ops);
CREATE INDEX ix_search_terms_trgm ON search_terms USING gin (term gin_trgm_ops);
"""


def _execute_script(sql: str) -> None:
    """Several statements and $$ bodies: the driver's cursor with no parameters."""
    with op.get_bind().connection.cursor() as cursor:
        cursor.execute(sql)


def upgrade() -> None:
    _execute_script(UPGRADE)


def downgrade() -> None:
    schema = op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
    _execute_script(DOWNGRADE.replace("{schema}", schema))
