"""`--compare-profiles` reports what request profiles cost, apart from what metrics cost."""

from lifeceo.bench.report import PROFILES_OFF_SUFFIX, Measurement, Report
from lifeceo.bench.wrk import Result


def test_bench_report_profiles_cost():
    report = Report(settings={})
    for workload, requests in (("feed-cached", 970), (f"feed-cached{PROFILES_OFF_SUFFIX}", 1000)):
        report.measurements.append(Measurement(workload, 100, Result(
            requests=requests, seconds=1.0, errors=0, non_2xx_3xx=0, p50_ms=1, p95_ms=2,
            p99_ms=3)))
    assert report.profiles_cost() == {"feed-cached c=100": 0.03}
    assert report.metrics_cost() == {}
    assert report.as_json()["profiles_cost"] == {"feed-cached c=100": 0.03}
    assert "Request profiles cost on feed-cached c=100: 3.0% of rps" in report.as_markdown()
