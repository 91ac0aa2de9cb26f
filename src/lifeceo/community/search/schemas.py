"""What search answers."""

from typing import Literal

from pydantic import BaseModel

from lifeceo.community.events.schemas import EventFields, Organizer
from lifeceo.community.posts.schemas import PostOut
from lifeceo.community.users.schemas import PublicUser

SearchType = Literal["all", "posts", "users", "events"]


class EventHit(EventFields):
    organizer: Organizer


class SearchHit(BaseModel):
    type: Literal["post", "user", "event"]
    score: float
    # HTML: the matching text escaped, the words that matched in <mark>.
    snippet: str
    post: PostOut | None = None
    user: PublicUser | None = None
    event: EventHit | None = None


class SearchPage(BaseModel):
    items: list[SearchHit]
    next_cursor: str | None
    # Matches counted up to 1,000; total_exact is false beyond.
    total_estimate: int
    total_exact: bool
    # Set when nothing matched the query as typed: the corrected query, whose results these are.
    did_you_mean: str | None = None


class Suggestions(BaseModel):
    items: list[str]


class TrendingQuery(BaseModel):
    query: str
    # Distinct signed-in people who searched for it in the window.
    searchers: int


class TrendingSearches(BaseModel):
    hours: int
    items: list[TrendingQuery]
