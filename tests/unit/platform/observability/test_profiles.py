"""The profile store: the slowest K per route class per minute, the ring of slow requests,
eviction and expiry; statements grouped by fingerprint."""

from datetime import UTC, datetime

from lifeceo.platform.observability.profiles import (
    MAX_STATEMENTS_PER_PROFILE,
    ProfileStore,
    RequestProfile,
    repeated_fingerprints,
)

MINUTE = 60.0
T0 = 1_800_000_000.0  # a whole minute


def profile(duration_ms: float, *, at: float = T0, route: str = "/api/v1/posts/{post_id}",
            method: str = "GET", request_id: str | None = None) -> RequestProfile:
    made = RequestProfile(method, at)
    made.route, made.status, made.duration_ms = route, 200, duration_ms
    made.request_id = request_id
    made.open = False
    return made


def store(**bounds) -> ProfileStore:
    return ProfileStore(**{"slow_request_ms": 1000.0, "keep_per_route_minute": 3,
                           "max_requests": 100, "slow_max_requests": 10,
                           "retention_minutes": 10, **bounds})


def durations(profiles: list[RequestProfile]) -> list[float]:
    return [kept.duration_ms for kept in profiles]


def test_keeps_the_slowest_k_of_each_route_class_each_minute():
    kept = store()
    offered = [kept.keep(profile(ms, at=T0 + i)) for i, ms in enumerate([5, 1, 9, 3, 7, 2])]
    # The first three fill the heap; then only a request slower than the fastest kept gets in.
    assert offered == [True, True, True, True, True, False]
    assert durations(kept.recent(order="slowest")) == [9, 7, 5]
    # Another method, another route and another minute are classes of their own.
    kept.keep(profile(1, method="POST"))
    kept.keep(profile(1, route="/api/v1/feed"))
    kept.keep(profile(1, at=T0 + MINUTE))
    assert len(kept) == 6
    assert durations(kept.recent(route="/api/v1/feed")) == [1]


def test_every_slow_request_is_kept_in_a_bounded_ring():
    kept = store(keep_per_route_minute=1, slow_max_requests=3)
    for i in range(5):
        kept.keep(profile(2000 + i, at=T0 + i))
    # The heap holds the slowest one; the ring the last three slow ones.
    assert durations(kept.recent()) == [2004, 2003, 2002]
    assert len(kept) == 3
    assert durations(kept.recent(min_duration_ms=2003)) == [2004, 2003]


def test_the_whole_sample_is_bounded_dropping_the_oldest_minute_first():
    kept = store(keep_per_route_minute=2, max_requests=4)
    for minute in range(3):
        for ms in (10, 20):
            kept.keep(profile(ms + minute, at=T0 + minute * MINUTE))
    assert kept.max_requests == 4 and len(kept) == 4
    assert sorted(durations(kept.recent())) == [11, 12, 21, 22]


def test_old_minutes_age_out():
    kept = store(retention_minutes=2)
    kept.keep(profile(5, at=T0))
    kept.keep(profile(5000, at=T0 + 1))  # slow: in the ring too
    kept.keep(profile(6, at=T0 + MINUTE))
    kept.keep(profile(7, at=T0 + 2 * MINUTE))
    assert sorted(durations(kept.recent())) == [6, 7]


def test_recent_filters_and_orders_and_find_takes_the_newest():
    kept = store()
    kept.keep(profile(30, at=T0, request_id="a"))
    kept.keep(profile(10, at=T0 + 1, request_id="b"))
    kept.keep(profile(20, at=T0 + 2, request_id="a"))
    assert durations(kept.recent()) == [20, 10, 30]
    assert durations(kept.recent(order="slowest", limit=2)) == [30, 20]
    assert durations(kept.recent(since=datetime.fromtimestamp(T0 + 1, UTC))) == [20]
    assert kept.find("a").duration_ms == 20
    assert kept.find("nobody") is None


def test_statements_group_by_fingerprint_most_time_first():
    made = RequestProfile("GET", T0)
    for ids in range(1, 8):  # an IN list of another length each time: one fingerprint
        made.add("SELECT id FROM users WHERE id IN (" + ", ".join(["%s"] * ids) + ")", 0.012)
    made.add("SELECT count(*) FROM posts", 0.030)
    made.add("SELECT count(*) FROM posts", 0.002)
    made.open = False
    users, posts = made.by_fingerprint()
    assert (users.fingerprint, users.count, users.total_ms, users.max_ms) == (
        "SELECT id FROM users WHERE id IN (?)", 7, 84.0, 12.0)
    assert (posts.count, posts.total_ms, posts.max_ms) == (2, 32.0, 30.0)
    assert made.statement_count == 9 and round(made.sql_ms, 6) == 116.0
    # Sentry's rule: at least 5 times, together at least 50 ms.
    assert repeated_fingerprints(made) == [users]
    assert repeated_fingerprints(made, min_total_ms=100) == []


def test_repeated_statements_finds_the_n_plus_one_requests():
    kept = store()
    n_plus_one, fine = profile(200, request_id="n+1"), profile(100, at=T0 + 1)
    for _ in range(40):
        n_plus_one.add("SELECT * FROM users WHERE id = %(id)s", 0.002)
    fine.add("SELECT * FROM users WHERE id = %(id)s", 0.060)
    kept.keep(n_plus_one)
    kept.keep(fine)
    [(found, [statement])] = kept.repeated_statements()
    assert found is n_plus_one
    assert (statement.fingerprint, statement.count) == ("SELECT * FROM users WHERE id = ?", 40)


def test_a_profile_counts_a_bounded_number_of_distinct_statements():
    made = RequestProfile("GET", T0)
    for i in range(MAX_STATEMENTS_PER_PROFILE + 10):
        made.add(f"SELECT {i}", 0.001)
    assert len(made.statements) == MAX_STATEMENTS_PER_PROFILE
    assert made.dropped_statements == 10
    assert made.statement_count == MAX_STATEMENTS_PER_PROFILE + 10
