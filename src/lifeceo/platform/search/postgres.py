"""The search index as PostgreSQL full-text search: documents are columns and expression
indexes of the rows themselves (see migrations 0000 and 0003), so they change in the
transaction that changes the row and there is nothing to send anywhere."""

import html
import re
import time
import unicodedata
from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    Float,
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
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

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


def _tsquery(language: str, query: str) -> ColumnElement:
    return func.websearch_to_tsquery(literal_column(f"'{CONFIGS[language]}'::regconfig"),
                                     bindparam(None, query, type_=Text))


def _config(document: Document) -> ColumnElement:
    if document.language is None:
        return literal_column(f"'{CONFIGS['simple']}'::regconfig")
    return func.lifeceo_search_config(document.language)


def _matching(document: Document, query: str) -> tuple[ColumnElement[bool], ColumnElement]:
    """Whether a row matches, and the query as parsed for that row's language. The languages
    are ORed so that each branch is a constant tsquery the GIN index can serve."""
    if document.language is None:
        parsed = _tsquery("simple", query)
        return document.vector.op("@@")(parsed), parsed
    matched = or_(*(and_(document.language == literal_column(f"'{language}'"),
                         document.vector.op("@@")(_tsquery(language, query)))
                    for language in CONFIGS))
    parsed = case({language: _tsquery(language, query) for language in CONFIGS},
                  value=document.language)
    return matched, parsed


def _like(column: ColumnElement, order: UnaryExpression) -> ColumnElement:
    """`column` ordered in the direction of `order` (a tiebreak such as Post.id.desc())."""
    return column.desc() if order.modifier is operators.desc_op else column.asc()


def _snippet_html(headline: str | None) -> str:
    escaped = html.escape(headline or "", quote=True)
    return escaped.replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>")


async def _without_jit(session: AsyncSession) -> None:
    """JIT off for the request's transaction: the document functions inflate cost estimates
    past jit_above_cost, and compiling then took 49 ms of a 183 ms search (EXPLAIN ANALYZE,
    100k posts) to save nothing."""
    if not session.info.get("search_jit_off"):
        await session.execute(text("SELECT set_config('jit', 'off', true)"))
        session.info["search_jit_off"] = True


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

    async def refresh_vocabulary(self, connection: AsyncConnection) -> None:
        """Rebuild search_terms (suggestions, "did you mean") without blocking its readers."""
        await connection.execute(text("REFRESH MATERIALIZED VIEW CONCURRENTLY search_terms"))

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
        await _without_jit(session)
        matched, parsed = _matching(document, query)
        folded = func.lifeceo_search_fold(bindparam(None, query, type_=Text))
        score = func.ts_rank_cd(literal_column(f"'{RANK_WEIGHTS}'::float4[]"), document.vector,
                                parsed, RANK_NORMALIZATION)
        if document.fuzzy:
            matched = or_(matched, *(name.op("%>")(folded) for name in document.fuzzy))
            score = func.greatest(score, FUZZY_WEIGHT * func.greatest(
                *(func.word_similarity(folded, name) for name in document.fuzzy)))
        if document.boost is not None:
            score = score * document.boost
        if document.exact is not None:
            score = score + case((document.exact == folded, EXACT_BONUS), else_=0.0)
        where = and_(matched, *request.filters)

        # Counted first (stopping past the cap): how many match decides how to pick candidates.
        counted = await session.scalar(select(func.count()).select_from(
            select(literal(1)).select_from(document.table).where(where)
            .limit(max(COUNT_CAP, document.max_candidates) + 1).subquery()))
        if not counted:
            return SearchResults(hits=[], total_estimate=0, total_exact=True), "none"
        # The tiebreak's keys travel with each candidate: ordering the page reads no more rows.
        keys = [order.element.label(f"key{n}") for n, order in enumerate(request.tiebreak)]
        candidates = (select(document.id.label("id"), score.cast(Float).label("score"), *keys)
                      .select_from(document.table).where(where))
        if counted > document.max_candidates:
            # Too many to rank: the first ones in the tiebreak order (the newest posts, the most
            # followed people, the soonest events), exact names before all. Scoring all the
            # posts a common word matches (most of 100k) took 200 ms; walking the primary key
            # to the newest 1,000 takes 7. Few matches are ranked all, found through the GIN
            # index: ordering them would walk the whole table for a rare word.
            exact_first = () if document.exact is None else (
                case((document.exact == folded, 0), else_=1),)
            candidates = (candidates.order_by(*exact_first, *request.tiebreak, document.id.desc())
                          .limit(document.max_candidates))
        # Materialised: each candidate is scored once, before the ranking. Inlined, PostgreSQL
        # may rank the whole table in score order and join the candidates to that (EXPLAIN: a
        # parallel sort of 100k posts, 150 ms, for a word 9k posts contain).
        candidates = candidates.cte("candidates").prefix_with("MATERIALIZED")
        tiebreak = [_like(candidates.c[f"key{n}"], order)
                    for n, order in enumerate(request.tiebreak)]
        page = (select(candidates.c.id, candidates.c.score)
                .order_by(candidates.c.score.desc(), *tiebreak, candidates.c.id.desc())
                .limit(request.limit).offset(request.offset).subquery())
        # Headlines only for the page: ts_headline re-parses the whole text.
        source = func.translate(document.snippet, _MARK_START + _MARK_STOP, "")
        headline = func.ts_headline(_config(document), source, parsed,
                                    literal(_HEADLINE_OPTIONS, Text))
        rows = (await session.execute(
            select(page.c.id, page.c.score, headline)
            .select_from(document.table).join(page, document.id == page.c.id)
            .order_by(page.c.score.desc(), *request.tiebreak, document.id.desc()))).all()
        results = SearchResults(
            hits=[Hit(id=row[0], score=round(row[1], 6), snippet=_snippet_html(row[2]))
                  for row in rows],
            total_estimate=min(counted, COUNT_CAP), total_exact=counted <= COUNT_CAP)
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
