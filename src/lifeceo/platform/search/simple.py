"""The simple search the elasticsearch-search flag falls back to: names and titles containing
the query, accents and case ignored, no ranking beyond an exact name first. Nothing to build or
maintain: it reads the same columns the full-text engine's fuzzy matching does."""

import html
from collections.abc import Sequence

from sqlalchemy import Float, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.search.interface import Document, Hit, SearchRequest, SearchResults
from lifeceo.platform.search.postgres import COUNT_CAP, normalise

SNIPPET_CHARS = 200


class SimpleSearchIndex:
    """Search only: indexing, suggestions and corrections are the full-text engine's."""

    async def index(self, session: AsyncSession, document: Document, *, after_id: int,
                    batch_size: int) -> list[int]:
        return []

    async def remove(self, session: AsyncSession, document: Document, ids: Sequence[int]) -> None:
        return None

    async def suggest(self, session: AsyncSession, prefix: str, *, limit: int) -> list[str]:
        return []

    async def correct(self, session: AsyncSession, text: str) -> str | None:
        return None

    async def search(self, session: AsyncSession, document: Document,
                     request: SearchRequest) -> SearchResults:
        """Rows one of whose names (users: username, display name; events: title) contains
        the query; a kind without names (posts) finds nothing."""
        query = normalise(request.text)
        if not query or not document.fuzzy:
            return SearchResults(hits=[], total_estimate=0, total_exact=True)
        folded = func.lifeceo_search_fold(literal(query))
        pattern = func.replace(func.replace(func.replace(
            folded, "\\", "\\\\"), "%", "\\%"), "_", "\\_")
        matched = or_(*(name.ilike(func.concat("%", pattern, "%")) for name in document.fuzzy))
        where = and_(matched, *request.filters)
        counted = await session.scalar(select(func.count()).select_from(
            select(literal(1)).select_from(document.table).where(where)
            .limit(COUNT_CAP + 1).subquery()), request.parameters)
        if not counted:
            return SearchResults(hits=[], total_estimate=0, total_exact=True)
        score = (literal(1.0) if document.exact is None
                 else case((document.exact == folded, 2.0), else_=1.0)).cast(Float)
        rows = (await session.execute(
            select(document.id, score, func.left(document.snippet, SNIPPET_CHARS))
            .where(where).order_by(score.desc(), *request.tiebreak, document.id.desc())
            .limit(request.limit).offset(request.offset), request.parameters)).all()
        return SearchResults(
            hits=[Hit(id=row[0], score=float(row[1]), snippet=html.escape(row[2] or ""))
                  for row in rows],
            total_estimate=min(counted, COUNT_CAP), total_exact=counted <= COUNT_CAP)


simple_search_index = SimpleSearchIndex()
