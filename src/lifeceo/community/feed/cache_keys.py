"""Names of the feed pages the cache holds: lists of post ids, hydrated from the posts' entries."""

import hashlib
from datetime import UTC

import orjson

from lifeceo.platform.http.pagination import PageParams, encode_cursor

# REFERENCE.md: feeds were cached 300 s. Every write that changes a page drops it, so the TTL
# only bounds what a change made outside the application can cost.
PAGE_TTL_SECONDS = 300
# Any public post by anyone drops every public page, so under steady posting they live seconds
# anyway; the short TTL keeps deep pages (one entry per cursor, rarely read twice) from
# lingering in memory.
PUBLIC_TTL_SECONDS = 30


def _page(page: PageParams) -> str:
    # Decoded and re-encoded in UTC: equal cursors written differently share one entry.
    after = encode_cursor(page.after[0].astimezone(UTC), page.after[1]) if page.after else ""
    return f"{page.limit}:{after}"


def public_key(page: PageParams) -> str:
    return f"feed:public:{_page(page)}"


def home_key(viewer_id: int, author_ids: list[int], page: PageParams) -> str:
    """Keyed by the authors it was read for as well: a page read with a list of followees that
    a concurrent follow has just changed is then never served to a request that knows better."""
    authors = hashlib.blake2b(orjson.dumps(author_ids), digest_size=8).hexdigest()
    return f"feed:home:{viewer_id}:{authors}:{_page(page)}"


def timeline_key(author_id: int, relation: str, page: PageParams) -> str:
    return f"feed:user:{author_id}:{relation}:{_page(page)}"


def view_key(viewer_id: int | None, page_key: str) -> str:
    """A page as one viewer sees it (their likes, what they may see), made whole."""
    return f"view:{viewer_id or 0}:{page_key}"
