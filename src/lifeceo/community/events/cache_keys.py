"""Names of what the events package caches."""

import hashlib
from datetime import UTC, datetime

import orjson

from lifeceo.community.events.schemas import EventFilters
from lifeceo.platform.http.pagination import PageParams

# Every write to an event drops its entry and every list; a list that hides ended events also
# carries the moment its first event ends and is recomputed from then on (EventService.page),
# so neither TTL has to be short for the lists to be right.
EVENT_TTL_SECONDS = 300
LIST_TTL_SECONDS = 300
# Every list: a new event, an edit, a cancellation or an RSVP may change any of them.
EVENTS_TAG = "events"


def event_key(event_id: int) -> str:
    """What every viewer sees of an event (an EventEntry): neither its organizer's byline nor
    the viewer's RSVP."""
    return f"event:{event_id}"


def _moment(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def list_key(filters: EventFilters, page: PageParams) -> str:
    """The filters as the query applies them (the city matched case-insensitively, moments
    compared as instants), hashed to bound the key's length."""
    canonical = orjson.dumps([
        filters.city.lower() if filters.city is not None else None,
        _moment(filters.starts_from), _moment(filters.starts_before), filters.tag,
        filters.include_past, filters.include_cancelled, page.limit,
        [_moment(page.after[0]), page.after[1]] if page.after else None,
    ])
    return f"events:{hashlib.blake2b(canonical, digest_size=16).hexdigest()}"
