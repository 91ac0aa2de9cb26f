"""The metrics' pure parts: statement kinds, counter mirroring, scrape access, route labels."""

from prometheus_client import CollectorRegistry, Counter
from pydantic import SecretStr

from lifeceo.bench.report import METRICS_OFF_SUFFIX, Measurement, Report
from lifeceo.bench.wrk import Result
from lifeceo.platform.observability.metrics_db import statement_kind
from lifeceo.platform.observability.metrics_endpoints import may_scrape
from lifeceo.platform.observability.metrics_http import UNMATCHED, route_template
from lifeceo.platform.observability.metrics_process import CounterMirror
from lifeceo.settings import Settings


def test_statement_kinds():
    assert statement_kind("SELECT 1") == "select"
    assert statement_kind("\n  insert into t (a) values (1)") == "insert"
    assert statement_kind("UPDATE t SET a = 1") == "update"
    assert statement_kind("DELETE FROM t") == "delete"
    assert statement_kind("BEGIN") == "other"
    assert statement_kind("WITH a AS (SELECT 1) SELECT count(*) FROM a") == "select"
    assert statement_kind("WITH gone AS (DELETE FROM t RETURNING id) "
                          "INSERT INTO u (id) SELECT id FROM gone") == "insert"
    assert statement_kind("with recursive n(i) as (select 1 union select i + 1 from n) "
                          "update t set a = 1") == "update"


def test_counter_mirror_adds_increments_and_survives_a_reset_at_the_source():
    registry = CollectorRegistry()
    counter = Counter("mirrored_total", "test", ["ns"], registry=registry)
    mirror = CounterMirror()
    mirror.update(counter, ("posts",), 0)
    assert registry.get_sample_value("mirrored_total", {"ns": "posts"}) == 0  # exists at once
    mirror.update(counter, ("posts",), 5)
    mirror.update(counter, ("posts",), 5)
    mirror.update(counter, ("posts",), 8)
    assert registry.get_sample_value("mirrored_total", {"ns": "posts"}) == 8
    mirror.update(counter, ("posts",), 2)  # the source was reset and counted 2 since
    assert registry.get_sample_value("mirrored_total", {"ns": "posts"}) == 10


def test_scrape_access_by_token_or_network():
    settings = Settings(metrics_token=SecretStr("tok"), metrics_allow_networks="10.0.0.0/8")
    assert may_scrape(settings, authorization="Bearer tok", client_host="203.0.113.1")
    assert may_scrape(settings, authorization="bearer tok", client_host=None)
    assert not may_scrape(settings, authorization="Bearer nope", client_host="203.0.113.1")
    assert may_scrape(settings, authorization=None, client_host="10.9.8.7")
    assert may_scrape(settings, authorization=None, client_host="::ffff:10.9.8.7")
    assert not may_scrape(settings, authorization=None, client_host="testclient")
    loopback = Settings()
    assert may_scrape(loopback, authorization=None, client_host="127.0.0.1")
    assert may_scrape(loopback, authorization=None, client_host="::1")
    assert not may_scrape(loopback, authorization="Bearer ", client_host="192.0.2.1")
    nobody = Settings(metrics_allow_networks="")
    assert not may_scrape(nobody, authorization=None, client_host="127.0.0.1")


def test_route_template_of_an_unrouted_scope():
    assert route_template({"type": "http", "path": "/wp-login.php"}) == UNMATCHED

    class Route:
        path = "/api/health"

    assert route_template({"type": "http", "route": Route()}) == "/api/health"


def test_bench_report_metrics_cost():
    report = Report(settings={})
    for workload, requests in (("feed-cached", 900), (f"feed-cached{METRICS_OFF_SUFFIX}", 1000)):
        report.measurements.append(Measurement(workload, 100, Result(
            requests=requests, seconds=1.0, errors=0, non_2xx_3xx=0, p50_ms=1, p95_ms=2,
            p99_ms=3)))
    assert report.metrics_cost() == {"feed-cached c=100": 0.1}
    assert "Metrics cost on feed-cached c=100: 10.0% of rps" in report.as_markdown()
