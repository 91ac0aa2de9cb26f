"""The scorecard's rules: a kind without a detector is not detected, only expected detectors
count, recall is over the kinds that have one."""

from lifeceo.bench import faults
from lifeceo.bench.scorecard import FaultScore, Scorecard, Sighting


def _score(kind: str, expected: list[str], *sightings: Sighting) -> FaultScore:
    return FaultScore(kind=kind, magnitude=1, target="all", seconds=60, expected=expected,
                      sightings=list(sightings))


def test_only_an_expected_detector_detects():
    score = _score("db_latency", ["slow_api_response"], Sighting(3, "error_burst", "all", 4.0))
    assert score.detected_by == ["error_burst"]
    assert not score.detected and score.seconds_to_detect is None


def test_kind_without_detector_counts_as_not_detected_and_stays_listed():
    card = Scorecard(settings={}, clean_seconds=60, faults=[
        _score("route_errors", ["error_burst"], Sighting(1, "error_burst", "feed", 6.0)),
        _score("db_latency", ["slow_api_response"],
               Sighting(2, "slow_api_response", "all", 12.0),
               Sighting(4, "slow_api_response", "feed", 9.0)),
        _score("memory_leak", ["memory_usage_high"]),
        _score("n_plus_one", [], Sighting(5, "slow_api_response", "admin", 3.0)),
    ])
    summary = card.summary()
    assert summary["detected"] == 2 and summary["kinds"] == 4
    assert summary["without_detector"] == ["n_plus_one"]
    assert summary["recall_over_watched_kinds"] == round(2 / 3, 3)
    # The first expected sighting of each detected kind: 6 and 9 s.
    assert summary["median_seconds_to_detect"] == 7.5
    markdown = card.as_markdown()
    assert "| n_plus_one (all) | 1 | no detector | slow_api_response | no |" in markdown


def test_resolved_says_whether_the_faults_incidents_resolved():
    resolved = _score("route_errors", ["error_burst"], Sighting(1, "error_burst", "feed", 6.0))
    resolved.incidents_resolved = True
    card = Scorecard(settings={}, clean_seconds=60, faults=[resolved, _score("db_latency", [])])
    assert [f["incidents_resolved"] for f in card.as_json()["faults"]] == [True, None]
    markdown = card.as_markdown()
    assert "| time to mitigate | resolved | undo |" in markdown
    assert "| - | - | yes | no |" in markdown and "| - | - | - | no |" in markdown


def test_false_positives_are_counted_and_named():
    card = Scorecard(settings={}, clean_seconds=600,
                     false_positives=[Sighting(7, "low_cache_hit_rate", "feed", 130.0)])
    assert card.summary()["false_positives"] == 1
    assert "#7 low_cache_hit_rate:feed at 130 s" in card.as_markdown()


def test_redis_outage_only_with_redis():
    assert "redis_outage" not in faults.supported(redis=False)
    assert faults.supported(redis=True)[-1] == "redis_outage"
    assert all(kind in faults.FAULTS for kind in faults.supported(redis=True))


def test_every_fault_kind_the_platform_has_is_planned():
    from lifeceo.platform.chaos.board import every_kind
    from lifeceo.settings import Settings

    assert {fault.name for fault in every_kind(Settings())} == set(faults.FAULTS)
