"""Any query is safe: operators, quotes, unicode, control characters, very long strings never
make a 5xx; past the length limit the answer is a 422 problem."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import factories
from tests.integration.community.test_search import post

from lifeceo.community.search.endpoints import MAX_QUERY_CHARS

PIECES = ['"', "'", "-", "OR", "or", "AND", "&", "|", "!", ":*", "(", ")", "<->", "<2>", "\\",
          "%", "_", "*", "@", "tango", "música", "\x00", "\x01", "\x7f", "\u200b", "\ufeff",
          "\ue000", "\ue001", "🕺", "ﷺ", "e\u0301", " ", "\t", "\n"]
# Any character a URL can carry: everything but lone surrogates.
CHARACTERS = st.characters(exclude_categories=["Cs"])
QUERIES = st.one_of(
    st.text(CHARACTERS, min_size=1, max_size=MAX_QUERY_CHARS),
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=40).map("".join),
)


def _safe(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=QUERIES, kind=st.sampled_from(["all", "posts", "users", "events"]))
async def test_any_query_is_answered(client, q, kind):
    response = await client.get("/api/v1/search", params={"q": q, "type": kind})
    _safe(response)
    if q.strip() and len(q) <= MAX_QUERY_CHARS:
        assert response.status_code == 200, response.text
    suggest = await client.get("/api/v1/search/suggest", params={"q": q})
    _safe(suggest)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(CHARACTERS, max_size=60))
async def test_any_filter_value_is_answered(client, value):
    for params in ({"author": value}, {"tag": value}, {"city": value},
                   {"posted_after": value}, {"price_min": value}, {"cursor": value}):
        _safe(await client.get("/api/v1/search", params={"q": "tango", **params}))


async def test_queries_match_through_the_noise(client):
    ana = await factories.user(client, "ana")
    written = await post(client, ana, "Clases de tango")
    for q in ["tango\x00", "\x01tango", '"tango', "-", "tango -", "(tango)",
              "tango:*", "tango & | !", "\ufefftango"]:
        response = await client.get("/api/v1/search", params={"q": q, "type": "posts"})
        assert response.status_code == 200, (q, response.text)
        if q != "-":
            assert [item["post"]["id"] for item in response.json()["items"]] == [written], q


async def test_too_long_is_a_422_problem(client):
    for path in ("/api/v1/search", "/api/v1/search/suggest"):
        response = await client.get(path, params={"q": "tango " * 1000})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 422
