"""HTTP endpoints of search and search-as-you-type."""

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from lifeceo.community.fields import DateTime
from lifeceo.community.search.schemas import (
    SearchPage,
    SearchType,
    Suggestions,
    TrendingSearches,
)
from lifeceo.community.search.service import SearchFilters, decode_offset, search_service
from lifeceo.community.users.dependencies import OptionalViewer
from lifeceo.community.users.schemas import TangoRole
from lifeceo.platform.cache import AppCache
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.openapi import problem_responses
from lifeceo.platform.search import normalise

router = APIRouter(tags=["search"])

# Longer queries are not searches but pasted documents; the limit keeps tsquery parsing and
# trigram work per request bounded.
MAX_QUERY_CHARS = 200
MAX_PAGE = 50
# Raw search events are kept 90 days by default; a week is what "trending" can mean.
MAX_TRENDING_HOURS = 7 * 24


def _exact(price: float | None) -> Decimal | None:
    return None if price is None else Decimal(str(price))


@router.get("/search", response_model=SearchPage, responses=problem_responses(400))
async def search(
    session: DbSession, cache: AppCache, viewer: OptionalViewer,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS,
                            description='words, "a phrase", a OR b, -excluded')],
    type: SearchType = "all",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    author: Annotated[str | None, Query(max_length=30, description="posts: by this username")] = None,
    tag: Annotated[list[str], Query(max_length=10, description="posts: with every tag")] = [],  # noqa: B006
    posted_after: DateTime | None = None,
    posted_before: DateTime | None = None,
    city: Annotated[str | None, Query(max_length=100, description="people and events")] = None,
    role: Annotated[TangoRole | None, Query(description="people")] = None,
    starts_after: DateTime | None = None,
    starts_before: DateTime | None = None,
    # Numbers in the document (Decimal's schema allows any string too), exact once converted.
    price_min: Annotated[float | None, Query(ge=0, le=10**8)] = None,
    price_max: Annotated[float | None, Query(ge=0, le=10**8)] = None,
    include_past: Annotated[bool, Query(description="events: also those already over")] = False,
):
    # Control characters (NUL among them) cannot reach PostgreSQL; they never match anyway.
    filters = SearchFilters(
        author=normalise(author) if author else None,
        tags=tuple(normalise(item).lower() for item in tag if normalise(item)),
        posted_after=posted_after, posted_before=posted_before,
        city=normalise(city) if city else None, role=role,
        starts_after=starts_after, starts_before=starts_before, price_min=_exact(price_min),
        price_max=_exact(price_max), include_past=include_past)
    return await search_service.search(
        session=session, cache=cache, viewer=viewer, text=q, type=type, filters=filters,
        limit=limit, offset=decode_offset(cursor) if cursor else 0)


@router.get("/search/suggest", response_model=Suggestions)
async def suggest(session: DbSession,
                  q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)],
                  limit: Annotated[int, Query(ge=1, le=20)] = 8):
    return Suggestions(items=await search_service.suggest(session=session, prefix=q, limit=limit))


@router.get("/search/trending", response_model=TrendingSearches)
async def trending(session: DbSession, cache: AppCache,
                   hours: Annotated[int, Query(ge=1, le=MAX_TRENDING_HOURS)] = 24,
                   limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 10):
    return await search_service.trending(session=session, cache=cache, hours=hours, limit=limit)
