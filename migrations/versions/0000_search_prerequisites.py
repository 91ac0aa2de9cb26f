"""search prerequisites: extensions, text search configurations, immutable document functions

Revision ID: 0000
Revises:

Hand-written and placed before the generated 0001, whose columns and indexes call what this
creates (autogenerate cannot express extensions, configurations or functions);
scripts/regenerate-initial-migration applies it to its scratch database and makes 0001 revise it.
Changing a configuration or function below changes stored vectors only for rows written after:
run `lifeceo search reindex` (see the README's Search section).
"""

from alembic import op

revision = '0000'
down_revision = None
branch_labels = None
depends_on = None

# Every function pins the search path it was created with: PostgreSQL 17 and later evaluate
# index expressions during CREATE INDEX, REINDEX and REFRESH with only pg_catalog on the path,
# where the unaccent dictionary and the configurations below would not be found. (Pinning it
# keeps SQL functions from being inlined.)

# Frequent function words of each language, unaccented, none shared by the two. A document is
# analysed in the language whose words it uses more (distinct words counted); a tie, usually
# a short text with none of them, gets the language-neutral configuration.
SPANISH_WORDS = ("de la que el en los del las por un una con para es se al lo como mas pero sus "
                 "le ya este esta muy sin sobre tambien hasta hay donde desde todo nos cuando "
                 "porque entre esto ese eso mi tu te ellos vamos hoy y o su les del estos")
ENGLISH_WORDS = ("the of and to in is you that it was for on are with as his they be at this "
                 "have from or by we an were but not what all your when can there will our my "
                 "who just their which would about been into has its")

UPGRADE = f"""
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TEXT SEARCH CONFIGURATION lifeceo_es (COPY = pg_catalog.spanish);
ALTER TEXT SEARCH CONFIGURATION lifeceo_es
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, spanish_stem;
CREATE TEXT SEARCH CONFIGURATION lifeceo_en (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION lifeceo_en
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
CREATE TEXT SEARCH CONFIGURATION lifeceo_simple (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION lifeceo_simple
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;

-- Lower-case without accents, for trigram indexes and comparisons.
CREATE FUNCTION lifeceo_search_fold(value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT SET search_path FROM CURRENT AS $$
BEGIN
    RETURN lower(unaccent('unaccent'::regdictionary, value));
END
$$;

-- array_to_string is only STABLE (it could call any type's output function); for the text
-- arrays here it is immutable, which generated columns and indexes require.
CREATE FUNCTION lifeceo_search_words(words varchar[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path FROM CURRENT AS $$
    SELECT coalesce(array_to_string(words, ' '), '')
$$;

CREATE FUNCTION lifeceo_search_language(document text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path FROM CURRENT AS $$
    SELECT CASE WHEN spanish > english THEN 'es' WHEN english > spanish THEN 'en'
                ELSE 'simple' END
    FROM (SELECT count(*) FILTER (WHERE word = ANY (string_to_array('{SPANISH_WORDS}', ' '))) AS spanish,
                 count(*) FILTER (WHERE word = ANY (string_to_array('{ENGLISH_WORDS}', ' '))) AS english
          FROM unnest(tsvector_to_array(to_tsvector('lifeceo_simple', coalesce(document, ''))))
               AS word) AS counts
$$;

CREATE FUNCTION lifeceo_search_config(language text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path FROM CURRENT AS $$
    SELECT CASE language WHEN 'es' THEN 'lifeceo_es'::regconfig
                         WHEN 'en' THEN 'lifeceo_en'::regconfig
                         ELSE 'lifeceo_simple'::regconfig END
$$;

-- Weights: A counts ×3, B ×2, C ×1 (the ranking's weight array says so). PL/pgSQL rather than
-- SQL: with a pinned search path an SQL function is planned on every call, which made writing
-- a post six times slower (measured: 477 µs against 83 µs a document).
CREATE FUNCTION lifeceo_users_search_vector(username varchar, display_name varchar, bio varchar,
                                            city varchar, roles varchar[]) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path FROM CURRENT AS $$
BEGIN
    RETURN setweight(to_tsvector('lifeceo_simple', coalesce(username, '')), 'A')
        || setweight(to_tsvector('lifeceo_simple', coalesce(display_name, '')), 'B')
        || setweight(to_tsvector('lifeceo_simple', coalesce(bio, '') || ' ' || coalesce(city, '')
                                 || ' ' || lifeceo_search_words(roles)), 'C');
END
$$;

CREATE FUNCTION lifeceo_posts_search_vector(body text, tags varchar[], author_name text)
RETURNS tsvector LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path FROM CURRENT AS $$
DECLARE
    config regconfig := lifeceo_search_config(lifeceo_search_language(body));
BEGIN
    RETURN setweight(to_tsvector(config, coalesce(body, '')), 'B')
        || setweight(to_tsvector(config, lifeceo_search_words(tags) || ' '
                                 || coalesce(author_name, '')), 'C');
END
$$;

CREATE FUNCTION lifeceo_events_search_vector(title varchar, description text, city varchar,
                                             venue varchar, tags varchar[]) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path FROM CURRENT AS $$
DECLARE
    config regconfig := lifeceo_search_config(lifeceo_search_language(
        coalesce(title, '') || ' ' || coalesce(description, '')));
BEGIN
    RETURN setweight(to_tsvector(config, coalesce(title, '')), 'B')
        || setweight(to_tsvector(config, coalesce(description, '') || ' ' || coalesce(city, '')
                                 || ' ' || coalesce(venue, '') || ' '
                                 || lifeceo_search_words(tags)), 'C');
END
$$;
"""

DOWNGRADE = """
DROP FUNCTION lifeceo_events_search_vector, lifeceo_posts_search_vector,
              lifeceo_users_search_vector, lifeceo_search_config, lifeceo_search_language,
              lifeceo_search_words, lifeceo_search_fold;
DROP TEXT SEARCH CONFIGURATION lifeceo_simple;
DROP TEXT SEARCH CONFIGURATION lifeceo_en;
DROP TEXT SEARCH CONFIGURATION lifeceo_es;
"""


def _execute_script(sql: str) -> None:
    """Several statements and $$ bodies: the driver's cursor with no parameters."""
    with op.get_bind().connection.cursor() as cursor:
        cursor.execute(sql)


def upgrade() -> None:
    _execute_script(UPGRADE)


def downgrade() -> None:
    # The extensions stay: other objects of the database may use them.
    _execute_script(DOWNGRADE)
