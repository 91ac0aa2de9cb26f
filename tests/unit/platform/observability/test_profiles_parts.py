"""The profiles report's pieces: the merge of several processes' pages, an answer cut into
parts that fit a NOTIFY and put back together in any order, and an answer too large to send
halved until it fits."""

import random
import string
from datetime import UTC, datetime, timedelta

import pytest

from lifeceo.platform.observability.profiles import ProfileStore, RequestProfile
from lifeceo.platform.observability.profiles_report import (
    MAX_ANSWER_PARTS,
    PART_CHARS,
    Answers,
    ProfileQuery,
    ProfileReport,
    decode,
    encode,
    merge,
)
from lifeceo.platform.observability.profiles_schemas import ProfileSummary
from lifeceo.platform.pubsub.postgres import MAX_NOTIFY_BYTES
from lifeceo.platform.pubsub.subscription import LiveMessage

T0 = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


def summary(name: str, *, seconds: float, duration_ms: float) -> ProfileSummary:
    return ProfileSummary(process=name.split("-")[0], request_id=name, trace_id=None,
                          method="GET", route="/api/v1/feed", status=200,
                          started_at=T0 + timedelta(seconds=seconds), duration_ms=duration_ms,
                          sql_ms=0.0, statement_count=0, top_statement=None)


def test_merge_orders_every_process_s_profiles_and_keeps_the_limit():
    mine = [summary("a-2", seconds=2, duration_ms=10), summary("a-0", seconds=0, duration_ms=90)]
    theirs = [summary("b-3", seconds=3, duration_ms=5), summary("b-1", seconds=1, duration_ms=50)]
    tied = [summary("c-2", seconds=2, duration_ms=10)]
    pages = [mine, theirs, tied]
    assert [s.request_id for s in merge(pages, order="newest", limit=10)] == [
        "b-3", "a-2", "c-2", "b-1", "a-0"]
    # Among equals this process's (the first page) comes first.
    assert [s.request_id for s in merge(pages, order="slowest", limit=3)] == ["a-0", "b-1", "a-2"]
    assert merge([[], []], order="newest", limit=5) == []


def test_an_answer_travels_in_parts_that_fit_a_notify_in_any_order():
    noise = random.Random(7)
    body = {"items": ["".join(noise.choices(string.ascii_letters, k=500)) for _ in range(60)]}
    parts = encode(body)
    assert len(parts) > 2 and all(len(part) <= PART_CHARS for part in parts)
    answers = Answers("question-1")
    messages = [{"reply": "question-1", "instance": "b", "part": number, "parts": len(parts),
                 "body": part} for number, part in enumerate(parts)]
    for message in messages:
        envelope = LiveMessage("profiles:answer", id=2**62, data={**message, "instance": "f" * 32,
                                                                   "reply": "f" * 32})
        assert len(envelope.encode()) <= MAX_NOTIFY_BYTES
    last, *others = reversed(messages)
    # Another question's answer, and a malformed part, are not this one's.
    assert answers.add({**last, "reply": "question-2"}) is None
    assert answers.add({**last, "part": len(parts)}) is None
    assert [answers.add(message) for message in [last, *others][:-1]] == [None] * (len(parts) - 1)
    assert answers.add(others[-1]) == body
    assert decode(encode({"empty": []})) == {"empty": []}
    with pytest.raises(ValueError):
        decode(["not base64 at all!"])


def test_the_query_travels_and_is_bounded():
    query = ProfileQuery(route="/api/v1/feed", min_duration_ms=5.0, since=T0, order="slowest",
                         limit=7)
    assert ProfileQuery.from_data(query.to_data()) == query
    assert ProfileQuery.from_data({"limit": 10**6, "order": "sideways"}) == ProfileQuery(
        limit=1000)


def test_an_answer_past_its_parts_keeps_the_first_half_until_it_fits():
    store = ProfileStore(slow_request_ms=0.0, keep_per_route_minute=0, max_requests=1,
                         slow_max_requests=1000, retention_minutes=10)
    noise = random.Random(11)
    started = datetime.now(UTC).timestamp()
    for number in range(1000):
        profile = RequestProfile("GET", started + number / 1000)
        # Distinct statements that do not compress: the worst a page can be.
        statement = "SELECT " + "".join(noise.choices(string.ascii_letters, k=3000))
        profile.route, profile.status, profile.duration_ms = f"/r/{number}", 200, 1.0
        profile.request_id = f"r-{number}"
        profile.add(statement, 0.001)
        profile.open = False
        store.keep(profile)
    report = ProfileReport(hub=None, store=store, wait_seconds=0.1)  # answers without a hub
    parts = report._answer_parts({"op": "page", "query": ProfileQuery(limit=1000).to_data()})
    assert len(parts) <= MAX_ANSWER_PARTS
    body = decode(parts)
    assert body["sample"]["truncated"] is True and body["sample"]["held"] == 1000
    assert 0 < len(body["items"]) < 1000
    # The first (newest) ones are those kept.
    assert body["items"][0]["request_id"] == "r-999"
