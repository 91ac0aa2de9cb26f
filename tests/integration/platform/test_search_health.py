"""Readiness and metrics see search: its configurations answer, its vocabulary is built, and
each search is timed and counted by kind."""

from prometheus_client import REGISTRY
from sqlalchemy import text


async def test_readiness_reports_search(client):
    checks = (await client.get("/api/health/ready")).json()["checks"]
    [probe] = checks["search:responseTime"]
    assert (probe["status"], probe["observedUnit"]) == ("pass", "ms")
    [vocabulary] = checks["search:vocabulary"]
    assert (vocabulary["status"], vocabulary["observedUnit"]) == ("pass", "terms")


async def test_unfolded_vocabulary_changes_are_a_warning_not_a_failure(client, app):
    from lifeceo.platform.search.health import MAX_PENDING_CHANGES

    async with app.state.engine.begin() as connection:
        await connection.execute(text(
            "INSERT INTO search_term_changes (term, delta)"
            " SELECT 'zzpending' || n, 1 FROM generate_series(0, :count) AS n"),
            {"count": MAX_PENDING_CHANGES})
    try:
        response = await client.get("/api/health/ready")
        [vocabulary] = response.json()["checks"]["search:vocabulary"]
        assert vocabulary["status"] == "warn"
        assert "refresh-search-terms" in vocabulary["output"]
        assert response.status_code == 200
    finally:
        async with app.state.engine.begin() as connection:
            await connection.execute(text("SELECT lifeceo_search_terms_fold()"))
            await connection.execute(text(
                "DELETE FROM search_term_counts WHERE term LIKE 'zzpending%'"))


def _count(kind: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("lifeceo_search_queries_total",
                                     {"kind": kind, "outcome": outcome}) or 0.0


async def test_searches_are_timed_and_counted_by_kind_and_outcome(client):
    before = _count("posts", "none")
    timed = REGISTRY.get_sample_value("lifeceo_search_duration_seconds_count",
                                      {"kind": "posts"}) or 0.0
    await client.get("/api/v1/search", params={"q": "zzzqqq", "type": "posts"})
    assert _count("posts", "none") == before + 1
    assert REGISTRY.get_sample_value("lifeceo_search_duration_seconds_count",
                                     {"kind": "posts"}) == timed + 1
