"""The search index as PostgreSQL full-text search: documents are columns and expression
indexes of the rows themselves (see migrations 0000 and 0003), so they change in the
transaction that changes the row and there is nothing to send anywhere."""

import functools
import html
import re
import time
import unicodedata
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Text,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import FromClause, Select, operators

from lifeceo.platform.search.interface import Document, Hit, SearchRequest, SearchResults
from lifeceo.platform.search.metrics import SEARCH_MATCHES, SEARCH_SECONDS

# The document languages and their configurations (migration 0000): Spanish and English with
# stemming, "simple" for text in neither; all three fold accents away.
CONFIGS = {"es": "lifeceo_es", "en": "lifeceo_en", "simple": "lifeceo_simple"}
# ts_rank_cd's weights for labels {D, C, B, A}: A counts ×3, B ×2, C ×1 (the weights).
RANK_WEIGHTS = "{0.33,0.33,0.67,1.0}"
# Normalisation 32: rank / (rank + 1), so that text scores lie in [0, 1) whatever the length.
RANK_NORMALIZATION = 32
# A name matched only by trigram similarity scores at most half of a full-text match.
FUZZY_WEIGHT = 0.5
# Added to the score of a row whose name is exactly the query: exact titles and usernames first.
EXACT_BONUS = 1.0
# Matches counted for the total; beyond it the total is reported as a lower bound.
COUNT_CAP = 1000
# "tnago" and "tango" share only 2 of 10 trigrams (similarity 0.2); pg_trgm's default 0.3
# would never correct a transposition in a five-letter word.
CORRECTION_SIMILARITY = 0.2
# Private-use characters mark hits inside ts_headline's output, then become <mark> after the
# text around them is escaped; they are removed from the text first so nothing can forge them.
_MARK_START, _MARK_STOP = "\ue000", "\ue001"
_HEADLINE_OPTIONS = (f"StartSel={_MARK_START}, StopSel={_MARK_STOP}, MaxWords=30, MinWords=12, "
                     "MaxFragments=2, FragmentDelimiter=\" … \"")
_WORD = re.compile(r"\w+")
# websearch_to_tsquery's operator word; never "corrected".
_OPERATORS = frozenset({"or"})


def normalise(query: str) -> str:
    """The query without control or unassigned characters (NUL cannot even reach PostgreSQL),
    whitespace collapsed."""
    kept = "".join(" " if unicodedata.category(char) in {"Cc", "Cs", "Co", "Cn"} else char
                   for char in query)
    return " ".join(kept.split())


# The query travels as one named parameter, given when a statement runs: the expressions around
# it are built once per document (building them took a fifth of a search's Python time).
_QUERY, _LIMIT, _OFFSET = "search_query", "search_limit", "search_offset"


def _query() -> ColumnElement[str]:
    return bindparam(_QUERY, type_=Text)


def _tsquery(language: str) -> ColumnElement:
    return func.websearch_to_tsquery(literal_column(f"'{CONFIGS[language]}'::regconfig"), _query())


def _config(document: Document) -> ColumnElement:
    if document.language is None:
        return literal_column(f"'{CONFIGS['simple']}'::regconfig")
    return func.lifeceo_search_config(document.language)


def _tiebreak(keys: FromClause, request: SearchRequest) -> list[ColumnElement]:
    """The request's tiebreak (such as Post.id.desc()) over the key columns it was copied to."""
    return [keys.c[f"key{n}"].desc() if order.modifier is operators.desc_op
            else keys.c[f"key{n}"].asc() for n, order in enumerate(request.tiebreak)]


def _snippet_html(headline: str | None) -> str:
    escaped = html.escape(headline or "", quote=True)
    return escaped.replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>")


@dataclass(frozen=True)
class _Expressions:
    """A document's search expressions of the query parameter."""

    matched: ColumnElement[bool]
    score: ColumnElement[float]
    # 0 for a row whose name is exactly the query, else 1; None if the document has no name.
    exact_first: ColumnElement[int] | None
    headline: ColumnElement[str]


@functools.cache
def _expressions(document: Document) -> _Expressions:
    """The languages are ORed so that each branch is a constant tsquery the GIN index can
    serve; the score and the highlights parse the query in the row's own language."""
    if document.language is None:
        parsed = _tsquery("simple")
        matched = document.vector.op("@@")(parsed)
    else:
        matched = or_(*(and_(document.language == literal_column(f"'{language}'"),
                             document.vector.op("@@")(_tsquery(language)))
                        for language in CONFIGS))
        parsed = case({language: _tsquery(language) for language in CONFIGS},
                      value=document.language)
    folded = func.lifeceo_search_fold(_query())
    score = func.ts_rank_cd(literal_column(f"'{RANK_WEIGHTS}'::float4[]"), document.vector,
                            parsed, RANK_NORMALIZATION)
    if document.fuzzy:
        matched = or_(matched, *(name.op("%>")(folded) for name in document.fuzzy))
        score = func.greatest(score, FUZZY_WEIGHT * func.greatest(
            *(func.word_similarity(folded, name) for name in document.fuzzy)))
    if document.boost is not None:
        score = score * document.boost
    exact_first = None
    if document.exact is not None:
        score = score + case((document.exact == folded, EXACT_BONUS), else_=0.0)
        exact_first = case((document.exact == folded, 0), else_=1)
    # Headlines only for the page: ts_headline re-parses the whole text.
    source = func.translate(document.snippet, _MARK_START + _MARK_STOP, "")
    headline = func.ts_headline(_config(document), source, parsed,
                                literal(_HEADLINE_OPTIONS, Text))
    return _Expressions(matched=matched, score=score.cast(Float), exact_first=exact_first,
                        headline=headline)


# Built statements by document and request shape: a search of a shape seen before builds
# nothing (building took a quarter of a search's Python time). Shapes are few: which filters
# are given.
_statements: dict[tuple[Document, Hashable], tuple[Select, Select]] = {}


def _statement(document: Document, request: SearchRequest) -> tuple[Select, Select]:
    if request.shape is None:
        return _ranking(document, request)
    key = (document, request.shape)
    if key not in _statements:
        _statements[key] = _ranking(document, request)
    return _statements[key]


def _ranking(document: Document, request: SearchRequest) -> tuple[Select, Select]:
    """One statement: the page's ids, scores and headlines, each row with the number of
    matches (counted up to COUNT_CAP + 1); and one of that count alone. The query, the page
    and the filters' values are bound parameters.

    Candidates for ranking are the first max_candidates matches in the tiebreak order (exact
    names before all). Up to COUNT_CAP matches they are picked among the matches the count
    found through the GIN index; past it the table is walked in the tiebreak order, which meets
    max_candidates matches soon for so common a query. Walking instead for a query of a few
    hundred matches (one in 300 posts) read a third of the table: 25 ms. Only the candidates are
    scored, each once (materialised: inlined, PostgreSQL may score the whole table in score
    order and join the candidates to that)."""
    found = _expressions(document)
    where = and_(found.matched, *request.filters)
    first = [] if found.exact_first is None else [found.exact_first.label("first")]
    keys = [order.element.label(f"key{n}") for n, order in enumerate(request.tiebreak)]
    matches = (select(document.id.label("id"), *first, *keys).where(where)
               .limit(COUNT_CAP + 1).cte("matches").prefix_with("MATERIALIZED"))
    counted = select(func.count()).select_from(matches).scalar_subquery()
    among_matches = (
        select(matches.c.id).where(counted <= COUNT_CAP)
        .order_by(*(matches.c.first for _ in first), *_tiebreak(matches, request),
                  matches.c.id.desc())
        .limit(document.max_candidates))
    walking = (select(document.id).where(where, counted > COUNT_CAP)
               .order_by(*(() if found.exact_first is None else (found.exact_first,)),
                         *request.tiebreak, document.id.desc())
               .limit(document.max_candidates))
    # An array, not a join: a join was planned as a hash of the whole table (20 ms of 10k
    # people) for the few hundred rows read here by primary key.
    candidates = func.array(union_all(among_matches, walking).scalar_subquery())
    scored = (select(document.id.label("id"), found.score.label("score"), *keys)
              .where(document.id == func.any(candidates))
              .cte("scored").prefix_with("MATERIALIZED"))
    page = (select(scored.c.id, scored.c.score)
            .order_by(scored.c.score.desc(), *_tiebreak(scored, request), scored.c.id.desc())
            .limit(bindparam(_LIMIT, type_=Integer)).offset(bindparam(_OFFSET, type_=Integer))
            .subquery("page"))
    statement = (select(page.c.id, page.c.score, found.headline.label("headline"),
                        counted.label("counted"))
                 .select_from(document.table).join(page, document.id == page.c.id)
                 .order_by(page.c.score.desc(), *request.tiebreak, document.id.desc()))
    return statement, select(counted)


class PostgresSearchIndex:
    async def index(self, session: AsyncSession, document: Document, *, after_id: int,
                    batch_size: int) -> list[int]:
        """A no-op UPDATE of the next rows: the trigger or the generated columns recompute the
        document with the current configuration. One short transaction per batch, so that
        writers of other rows never wait and a batch's rows are locked only briefly."""
        if document.touch is None:
            return []
        batch = (select(document.id).where(document.id > after_id).order_by(document.id)
                 .limit(batch_size).scalar_subquery())
        done = list(await session.scalars(
            update(document.table).where(document.id.in_(batch))
            .values({document.touch: document.touch}).returning(document.id)
            .execution_options(synchronize_session=False)))
        return sorted(done)

    async def remove(self, session: AsyncSession, document: Document, ids: Sequence[int]) -> None:
        """Nothing to do: a row's document is part of the row and goes with it."""

    async def rebuild_indexes(self, connection: AsyncConnection, document: Document) -> None:
        """REINDEX CONCURRENTLY the expression indexes whose entries a configuration change
        made stale; needs a connection in autocommit mode."""
        for name in document.indexes:
            await connection.execute(text(f'REINDEX INDEX CONCURRENTLY "{name}"'))

    async def fold_vocabulary(self, connection: AsyncConnection) -> int:
        """Fold the vocabulary changes written since the last fold into its counts (migration
        0004); readers see the same words before and after. The number of words changed."""
        return await connection.scalar(text("SELECT lifeceo_search_terms_fold()"))

    async def rebuild_vocabulary(self, connection: AsyncConnection) -> None:
        """Recount the vocabulary from the documents (after a configuration change); writers of
        posts, events and people wait for it."""
        await connection.execute(text("SELECT lifeceo_search_terms_rebuild()"))

    async def search(self, session: AsyncSession, document: Document,
                     request: SearchRequest) -> SearchResults:
        started = time.perf_counter()
        results, outcome = await self._search(session, document, request)
        SEARCH_SECONDS.labels(document.kind).observe(time.perf_counter() - started)
        SEARCH_MATCHES.labels(document.kind, outcome).inc()
        return results

    async def _search(self, session: AsyncSession, document: Document,
                      request: SearchRequest) -> tuple[SearchResults, str]:
        """The results, and how they were found: `none` matched, all matches `ranked`, or the
        ranking `capped` at the document's max_candidates."""
        query = normalise(request.text)
        if not query:
            return SearchResults(hits=[], total_estimate=0, total_exact=True), "none"
        statement, counted_only = _statement(document, request)
        parameters = {**request.parameters, _QUERY: query, _LIMIT: request.limit,
                      _OFFSET: request.offset}
        rows = (await session.execute(statement, parameters)).all()
        if rows:
            counted = rows[0].counted
        elif request.offset:
            # Past the last page: the statement returned no row to carry the count.
            counted = await session.scalar(counted_only, parameters)
        else:
            counted = 0
        results = SearchResults(
            hits=[Hit(id=row.id, score=round(row.score, 6), snippet=_snippet_html(row.headline))
                  for row in rows],
            total_estimate=min(counted, COUNT_CAP), total_exact=counted <= COUNT_CAP)
        if not counted:
            return results, "none"
        return results, "capped" if counted > document.max_candidates else "ranked"

    async def suggest(self, session: AsyncSession, prefix: str, *, limit: int) -> list[str]:
        """Completions of the last word (most frequent first), then look-alikes of it."""
        words = normalise(prefix).split()
        if not words:
            return []
        head, last = " ".join(words[:-1]), words[-1]
        rows = await session.execute(text("""
            WITH word AS (SELECT lifeceo_search_fold(:last) AS value)
            (SELECT term, 0 AS tier, documents::float8 AS weight FROM search_terms, word
             WHERE term LIKE replace(replace(replace(word.value, '\\', '\\\\'), '%', '\\%'),
                                     '_', '\\_') || '%'
             ORDER BY documents DESC, term LIMIT :limit)
            UNION ALL
            (SELECT term, 1, similarity(term, word.value) FROM search_terms, word
             WHERE char_length(word.value) >= 3 AND term % word.value
             ORDER BY similarity(term, word.value) DESC, documents DESC LIMIT :limit)
            ORDER BY 2, 3 DESC, 1
        """), {"last": last, "limit": limit})
        completions = list(dict.fromkeys(row.term for row in rows))[:limit]
        return [f"{head} {term}".strip() for term in completions]

    async def correct(self, session: AsyncSession, text_: str) -> str | None:
        query = normalise(text_)
        words = sorted({word.lower() for word in _WORD.findall(query)
                        if len(word) >= 3 and word.lower() not in _OPERATORS})
        if not words:
            return None
        await session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', :value, true)"),
                              {"value": str(CORRECTION_SIMILARITY)})
        rows = await session.execute(text("""
            SELECT word,
                   EXISTS (SELECT FROM search_terms WHERE term = lifeceo_search_fold(word)) AS known,
                   (SELECT term FROM search_terms
                    WHERE term % lifeceo_search_fold(word)
                    ORDER BY similarity(term, lifeceo_search_fold(word)) DESC, documents DESC, term
                    LIMIT 1) AS closest
            FROM unnest(CAST(:words AS text[])) AS word
        """), {"words": words})
        replacements = {row.word: row.closest for row in rows
                        if not row.known and row.closest is not None}
        if not replacements:
            return None
        return _WORD.sub(lambda m: replacements.get(m.group(0).lower(), m.group(0)), query)


postgres_search_index = PostgresSearchIndex()
