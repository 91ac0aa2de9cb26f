"""Rules of search: what each kind of viewer may find, how kinds are merged, and what to do
when nothing matches."""

import base64
import binascii
import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import UnaryExpression

from lifeceo.community.analytics import repository as analytics_repository
from lifeceo.community.analytics.models import MAX_QUERY_CHARS
from lifeceo.community.analytics.service import analytics_service
from lifeceo.community.caching import cached
from lifeceo.community.events.models import Event
from lifeceo.community.events.schemas import Organizer
from lifeceo.community.posts.models import Post
from lifeceo.community.posts.service import post_service
from lifeceo.community.search import repository
from lifeceo.community.search.documents import DOCUMENTS
from lifeceo.community.search.schemas import (
    EventHit,
    SearchHit,
    SearchPage,
    SearchType,
    TrendingQuery,
    TrendingSearches,
)
from lifeceo.community.users import repository as users_repository
from lifeceo.community.users.models import User
from lifeceo.community.users.schemas import PublicUser
from lifeceo.errors import BadRequest
from lifeceo.platform import flags
from lifeceo.platform.cache import Cache
from lifeceo.platform.flags.defaults import FULL_TEXT_SEARCH, ON_BY_DEFAULT
from lifeceo.platform.search import SearchIndex, SearchRequest, normalise, search_index
from lifeceo.platform.search.simple import simple_search_index

_USERNAME_PREFIX = re.compile(r"@?[A-Za-z0-9_]{1,30}")
# Rankings of what everyone may see (ids, scores, snippets) are shared this long, by anonymous
# and signed-in searchers alike. Any new post may belong to any cached query, so writes cannot
# name the entries to drop: a short TTL bounds how late a new document shows up instead (a
# viewer's own posts are ranked on the spot, so never late for them). What may no longer be
# shown never is: posts are re-checked for visibility (and events for cancellation) each time
# a ranking is presented.
RANKING_TTL_SECONDS = 30
# Ranked results are paged by offset; past this the scores are noise and the cost grows.
MAX_OFFSET = 1000
# A query fewer people typed may be personal (someone's name, an address): it never trends.
TRENDING_MIN_SEARCHERS = 3
# Trending moves over hours; the count over a day of searches is shared this long.
TRENDING_TTL_SECONDS = 300


@dataclass(frozen=True)
class SearchFilters:
    author: str | None = None
    tags: tuple[str, ...] = ()
    posted_after: datetime | None = None
    posted_before: datetime | None = None
    city: str | None = None
    role: str | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    include_past: bool = False


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode().rstrip("=")


def decode_offset(cursor: str) -> int:
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["offset"]
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
            raise ValueError(cursor)
        return offset
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
        raise BadRequest("The cursor is not one this API issued.") from None


class SearchService:
    async def search(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                     text: str, type: SearchType, filters: SearchFilters, limit: int,
                     offset: int) -> SearchPage:
        analytics_service.track(session=session, kind="search",
                                user_id=viewer.id if viewer else None,
                                query=normalise(text).lower()[:MAX_QUERY_CHARS])
        ranked = await self._ranked(session=session, cache=cache, viewer=viewer, text=text,
                                    type=type, filters=filters, limit=limit, offset=offset)
        did_you_mean = None
        if not ranked["hits"] and offset == 0:
            did_you_mean = await _index().correct(session, text)
            if did_you_mean is not None:
                ranked = await self._ranked(
                    session=session, cache=cache, viewer=viewer, text=did_you_mean, type=type,
                    filters=filters, limit=limit, offset=offset)
        following = offset + limit
        more = (following < min(ranked["total"], MAX_OFFSET + limit)
                and len(ranked["hits"]) == limit)
        return SearchPage(
            items=await self._present(session=session, cache=cache, viewer=viewer,
                                      hits=ranked["hits"]),
            next_cursor=encode_offset(following) if more else None,
            total_estimate=ranked["total"], total_exact=ranked["exact"],
            did_you_mean=did_you_mean)

    async def trending(self, *, session: AsyncSession, cache: Cache, hours: int,
                       limit: int) -> TrendingSearches:
        """What most signed-in people searched for in the last `hours`; each distinct person
        counts once per query, so one person repeating a search cannot make it trend."""
        async def load() -> list[list]:
            since = datetime.now(UTC) - timedelta(hours=hours)
            return [list(row) for row in await analytics_repository.trending_searches(
                session, since=since, min_searchers=TRENDING_MIN_SEARCHERS, limit=limit)]

        rows = await cached(cache, session, f"search:trending:{hours}:{limit}", load,
                            ttl=TRENDING_TTL_SECONDS)
        return TrendingSearches(hours=hours, items=[
            TrendingQuery(query=query, searchers=searchers) for query, searchers in rows])

    async def suggest(self, *, session: AsyncSession, prefix: str, limit: int) -> list[str]:
        """People by username prefix first (they are what a search box most often completes),
        then words of the public vocabulary."""
        people = []
        if _USERNAME_PREFIX.fullmatch(prefix.strip()):
            people = [f"@{name}" for name in await repository.usernames_starting(
                session, prefix.strip().lstrip("@"), limit=limit)]
        terms = await search_index.suggest(session, prefix, limit=limit)
        return list(dict.fromkeys(people + terms))[:limit]

    async def _ranked(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                      text: str, type: SearchType, filters: SearchFilters, limit: int,
                      offset: int) -> dict:
        """Each kind's ranking of what everyone may see, shared through the cache; for a
        signed-in viewer, the posts only they may see too, ranked on the spot. One ranking: its
        page. Several: each one's best offset+limit merged by score (all kinds' scores share one
        scale), then the page cut from that."""
        kinds = ("posts", "users", "events") if type == "all" else (type,)
        parts = [(kind, None) for kind in kinds]
        if viewer is not None and "posts" in kinds:
            parts.append(("posts", viewer.id))
        window = (limit, offset) if len(parts) == 1 else (offset + limit, 0)
        best: dict[tuple[str, int], dict] = {}
        total, exact = 0, True
        for kind, only_for in parts:
            ranking = await self._ranking(session=session, cache=cache, kind=kind,
                                          only_for=only_for, text=text, filters=filters,
                                          limit=window[0], offset=window[1])
            for hit in ranking["hits"]:
                # A post made non-public since the shared ranking was cached is in both.
                known = best.get((kind, hit["id"]))
                if known is None or hit["score"] > known["score"]:
                    best[(kind, hit["id"])] = hit
            total += ranking["total"]
            exact = exact and ranking["exact"]
        merged = sorted(best.values(), key=lambda hit: hit["score"], reverse=True)
        if len(parts) > 1:
            merged = merged[offset:offset + limit]
        return {"hits": merged, "total": total, "exact": exact}

    async def _ranking(self, *, session: AsyncSession, cache: Cache, kind: str,
                       only_for: int | None, text: str, filters: SearchFilters, limit: int,
                       offset: int) -> dict:
        """One kind's hits for everyone (`only_for` None), kept RANKING_TTL_SECONDS, or the
        posts only the user `only_for` may see besides."""
        index = _index()

        async def load() -> dict:
            request = await self._request(session=session, only_for=only_for, kind=kind,
                                          text=text, filters=filters, limit=limit, offset=offset)
            if request is None:
                return {"hits": [], "total": 0, "exact": True}
            results = await index.search(session, DOCUMENTS[kind], request)
            return {"hits": [{"kind": kind, "id": hit.id, "score": hit.score,
                              "snippet": hit.snippet} for hit in results.hits],
                    "total": results.total_estimate, "exact": results.total_exact}

        # The simple search's rankings are not kept: a cached full-text one must not answer it.
        if only_for is not None or index is simple_search_index:
            return await load()
        key = _ranking_key(text=text, kind=kind, filters=filters, limit=limit, offset=offset)
        return await cached(cache, session, key, load, ttl=RANKING_TTL_SECONDS)

    async def _request(self, *, session: AsyncSession, only_for: int | None, kind: str,
                       text: str, filters: SearchFilters, limit: int,
                       offset: int) -> SearchRequest | None:
        """The kind's filters in its own terms; None when they exclude everything."""
        if kind == "posts":
            author_id = None
            if filters.author:
                author = await users_repository.by_username(session, filters.author)
                if author is None:
                    return None
                author_id = author.id
            return _request(
                text=text, limit=limit, offset=offset,
                filters=repository.post_filters(
                    only_for=only_for, author_id=author_id,
                    tags=list(filters.tags), posted_after=filters.posted_after,
                    posted_before=filters.posted_before),
                # Ids grow with time: the newest first, walking the primary key.
                tiebreak=(Post.id.desc(),))
        if kind == "users":
            return _request(
                text=text, limit=limit, offset=offset,
                filters=repository.user_filters(city=filters.city, role=filters.role),
                tiebreak=(User.followers_count.desc(),))
        return _request(
            text=text, limit=limit, offset=offset,
            filters=repository.event_filters(
                city=filters.city, starts_after=filters.starts_after,
                starts_before=filters.starts_before, price_min=filters.price_min,
                price_max=filters.price_max, include_past=filters.include_past),
            tiebreak=(Event.starts_at.asc(),))

    async def _present(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                       hits: list[dict]) -> list[SearchHit]:
        """The hits as the viewer sees them now: a post made private or deleted, or an event
        cancelled, since a ranking was cached is left out."""
        ids = {kind: [hit["id"] for hit in hits if hit["kind"] == kind] for kind in DOCUMENTS}
        posts = {post.id: post for post in await post_service.hydrate(
            session=session, cache=cache, viewer=viewer, post_ids=ids["posts"])}
        users = await repository.users_by_ids(session, ids["users"])
        events = await repository.events_by_ids(session, ids["events"])
        presented = []
        for hit in hits:
            kind, found = hit["kind"], hit["id"]
            shown = {"type": kind[:-1], "score": hit["score"], "snippet": hit["snippet"]}
            if kind == "posts" and found in posts:
                presented.append(SearchHit(**shown, post=posts[found]))
            elif kind == "users" and found in users:
                presented.append(SearchHit(**shown, user=PublicUser.model_validate(users[found])))
            elif kind == "events" and found in events and events[found][0].cancelled_at is None:
                presented.append(SearchHit(**shown, event=_event_hit(*events[found])))
        return presented


def _request(*, text: str, limit: int, offset: int, filters: repository.Filters,
             tiebreak: tuple[UnaryExpression, ...]) -> SearchRequest:
    # Each kind has one tiebreak: the filters' shape is the request's.
    return SearchRequest(text=text, limit=limit, offset=offset, filters=filters.expressions,
                         parameters=filters.parameters, shape=filters.shape, tiebreak=tiebreak)


def _index() -> SearchIndex:
    """Full-text search, or the simple name/title search while elasticsearch-search is off."""
    if flags.current().is_enabled(FULL_TEXT_SEARCH, ON_BY_DEFAULT[FULL_TEXT_SEARCH]):
        return search_index
    return simple_search_index


def _ranking_key(*, text: str, kind: str, filters: SearchFilters, limit: int,
                 offset: int) -> str:
    request = {"text": normalise(text), "kind": kind, "filters": asdict(filters),
               "limit": limit, "offset": offset}
    canonical = orjson.dumps(request, default=str, option=orjson.OPT_SORT_KEYS)
    return f"search:{hashlib.sha256(canonical).hexdigest()}"


def _event_hit(event: Event, username: str, display_name: str) -> EventHit:
    fields = {name: getattr(event, name) for name in EventHit.model_fields if name != "organizer"}
    return EventHit(**fields, organizer=Organizer(username=username, display_name=display_name))


search_service = SearchService()
