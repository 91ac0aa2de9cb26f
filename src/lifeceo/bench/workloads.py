"""The named workloads: what each one asks of the server, built from a seeded data set."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import orjson

from lifeceo.bench.wrk import RequestLine
from lifeceo.seed import DEMO_PASSWORD
from lifeceo.seed import vocabulary as words

# How many seeded users the benchmark logs in: enough that per-user caches are not one entry.
LOGGED_IN_USERS = 50
# Page 1000 of 20 posts: a client that scrolled a long way.
DEEP_OFFSET = 20_000
LINES_PER_WORKLOAD = 2_000
# The mixed workload, in percent of requests (the mix a community site's API sees).
MIX = (("feed", 60), ("post", 15), ("profile", 10), ("events", 5), ("like", 5), ("new-post", 5))


@dataclass(frozen=True)
class Fixtures:
    tokens: list[str]
    usernames: list[str]
    post_ids: list[int]
    deep_cursor: str | None


def gather(url: str) -> Fixtures:
    """Log in seeded users and find posts and a deep cursor, through the public API."""
    with httpx.Client(base_url=url, timeout=30) as client:
        usernames = [f"user{number:05d}" for number in range(1, LOGGED_IN_USERS + 1)]
        tokens = []
        for username in usernames:
            login = client.post("/api/v1/auth/login",
                                json={"username": username, "password": DEMO_PASSWORD})
            login.raise_for_status()
            tokens.append(login.json()["token"])
            # A Bearer client: the session cookie would make later POSTs need a CSRF token.
            client.cookies.clear()
        post_ids: list[int] = []
        cursor: str | None = None
        walked = 0
        while walked < DEEP_OFFSET:
            page = client.get("/api/v1/feed/public",
                              params={"limit": 100, **({"cursor": cursor} if cursor else {})})
            page.raise_for_status()
            body = page.json()
            if walked == 0:
                post_ids = [post["id"] for post in body["items"]]
            walked += len(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
    return Fixtures(tokens=tokens, usernames=usernames, post_ids=post_ids, deep_cursor=cursor)


def _one(kind: str, fixtures: Fixtures, rng: random.Random) -> RequestLine:
    token = rng.choice(fixtures.tokens)
    if kind == "feed":
        return RequestLine("GET", "/api/v1/feed?limit=20", token)
    if kind == "post":
        return RequestLine("GET", f"/api/v1/posts/{rng.choice(fixtures.post_ids)}", token)
    if kind == "profile":
        return RequestLine("GET", f"/api/v1/users/{rng.choice(fixtures.usernames)}", token)
    if kind == "events":
        return RequestLine("GET", "/api/v1/events?limit=20", token)
    if kind == "like":
        return RequestLine("POST", f"/api/v1/posts/{rng.choice(fixtures.post_ids)}/like", token)
    if kind == "new-post":
        body = orjson.dumps({"body": f"Benchmark milonga note {rng.randrange(10**6)}",
                             "tags": ["bench"]}).decode()
        return RequestLine("POST", "/api/v1/posts", token, body)
    raise ValueError(kind)


def _search(fixtures: Fixtures, rng: random.Random) -> RequestLine:
    """A 1-3 word query of the seeded vocabulary (tags, cities, orchestras, names), over all
    kinds, as a logged-in user: the visibility rule is part of the cost."""
    pool = [*words.POST_TAGS, *(city for city, _zone in words.TANGO_CITIES), *words.ORCHESTRAS,
            *words.FIRST_NAMES, *words.EVENT_NAMES]
    query = " ".join(rng.sample(pool, rng.randint(1, 3)))
    return RequestLine("GET", f"/api/v1/search?{urlencode({'q': query, 'limit': 20})}",
                       rng.choice(fixtures.tokens))


def requests_for(workload: str, fixtures: Fixtures, *, seed: int = 1) -> list[RequestLine]:
    rng = random.Random(seed)
    if workload == "hello":
        return [RequestLine("GET", "/api/health")]
    if workload in ("feed-cached", "feed-uncached"):
        return [_one("feed", fixtures, rng) for _ in range(LINES_PER_WORKLOAD)]
    if workload == "feed-first":
        return [RequestLine("GET", "/api/v1/feed/public?limit=20")]
    if workload == "feed-deep":
        if fixtures.deep_cursor is None:
            raise RuntimeError(f"the data set has fewer than {DEEP_OFFSET} public posts; "
                               "seed more posts for feed-deep")
        return [RequestLine("GET", f"/api/v1/feed/public?limit=20&cursor={fixtures.deep_cursor}")]
    if workload == "search":
        return [_search(fixtures, rng) for _ in range(LINES_PER_WORKLOAD)]
    if workload == "mixed":
        return _mixed(MIX, _one, fixtures, rng)
    raise ValueError(f"unknown workload {workload!r}")


def _mixed(mix: tuple[tuple[str, int], ...],
           line: Callable[[str, Fixtures, random.Random], RequestLine], fixtures: Fixtures,
           rng: random.Random) -> list[RequestLine]:
    """LINES_PER_WORKLOAD requests whose kinds are drawn in `mix`'s percentages."""
    kinds = [kind for kind, percent in mix for _ in range(percent)]
    return [line(rng.choice(kinds), fixtures, rng) for _ in range(LINES_PER_WORKLOAD)]


# `lifeceo monitor eval`'s steady load, in percent: the read routes a member's pages call, the
# beacons their browsers send (jobs for the performance-metrics queue), and the chaos probe that
# the n_plus_one fault makes repeat its SELECT (an administrator's route: the first token's).
BACKGROUND_MIX = (("feed", 35), ("public-feed", 10), ("post", 10), ("profile", 10),
                  ("events", 5), ("search", 10), ("beacon", 10), ("probe", 5), ("like", 5))


def background(fixtures: Fixtures, *, seed: int = 1) -> list[RequestLine]:
    return _mixed(BACKGROUND_MIX, _background_one, fixtures, random.Random(seed))


def _background_one(kind: str, fixtures: Fixtures, rng: random.Random) -> RequestLine:
    if kind == "public-feed":
        return RequestLine("GET", "/api/v1/feed/public?limit=20")
    if kind == "search":
        return _search(fixtures, rng)
    if kind == "beacon":
        body = orjson.dumps({"url": "/feed", "lcp_ms": rng.randint(300, 3000),
                             "ttfb_ms": rng.randint(20, 400)}).decode()
        return RequestLine("POST", "/api/v1/rum", "", body)
    if kind == "probe":
        return RequestLine("GET", "/api/v1/admin/chaos/probe/n-plus-one", fixtures.tokens[0])
    return _one(kind, fixtures, rng)
