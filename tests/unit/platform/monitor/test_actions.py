"""Which catalogue actions apply to a detection: only where the lever exists and takes the
target; a lever that takes it but cannot act now still applies."""

from lifeceo.errors import Conflict, NotFound, Unprocessable
from lifeceo.platform.cache import Cache
from lifeceo.platform.levers.warm import CacheWarm
from lifeceo.platform.monitor import actions
from lifeceo.platform.monitor.detectors import Detection
from lifeceo.settings import Settings


class Checking:
    def __init__(self, name: str, *, accepts: set[str], refuses: bool = False) -> None:
        self.name, self.accepts, self.refuses = name, accepts, refuses

    def check(self, target: str, value: str) -> str:
        if target not in self.accepts:
            raise Unprocessable(f"no {target}")
        if self.refuses:
            raise Conflict("no supervisor")
        return value


class Board:
    def __init__(self, *levers: Checking) -> None:
        self.levers = {lever.name: lever for lever in levers}

    def lever(self, name: str) -> Checking:
        if name not in self.levers:
            raise NotFound(name)
        return self.levers[name]


CATALOGUE = actions.catalogue(Settings())


def names(detection: Detection, board: Board) -> list[str]:
    return [action.name for action in actions.applicable(CATALOGUE, detection, board)]


def test_a_slow_class_is_shed_before_it_is_served_stale_where_each_lever_takes_it():
    board = Board(Checking("concurrency", accepts={"search", "feed"}),
                  Checking("stale", accepts={"search", "posts"}))
    slow = lambda label: Detection("slow_api_response", label, "warning", "slow")  # noqa: E731
    assert names(slow("search"), board) == ["shed", "serve_stale"]
    assert names(slow("posts"), board) == ["serve_stale"]
    assert names(slow("all"), board) == []


def test_a_missing_lever_does_not_apply_and_a_refusing_one_still_does():
    leak = Detection("memory_usage_high", "max", "warning", "leak")
    assert names(leak, Board()) == []
    assert names(leak, Board(Checking("recycle", accepts={"any"}, refuses=True))) == [
        "recycle_worker"]
    queue = Detection("queue_backlog", "email", "warning", "late")
    assert [a.value(queue) for a in actions.applicable(
        CATALOGUE, queue, Board(Checking("queue", accepts={"email"})))] == ["20"]


def test_a_flag_is_rolled_back_only_for_an_error_burst_with_a_suspect_change():
    board = Board(Checking("flag", accepts={"predictive-caching"}))
    burst = Detection("error_burst", "all", "critical", "5xx")
    assert names(burst, board) == []  # no flag changed before it: no suspect, no rollback
    suspected = Detection("error_burst", "all", "critical", "5xx", {"flag_change": {
        "key": "predictive-caching", "audit_id": 7}})
    [rollback] = actions.applicable(CATALOGUE, suspected, board)
    assert (rollback.name, rollback.target(suspected), rollback.value(suspected)) == (
        "rollback_flag", "predictive-caching", "7")


def test_a_cold_namespace_is_warmed_by_the_warm_lever():
    cold = Detection("low_cache_hit_rate", "feed", "warning", "cold")
    [warm] = actions.applicable(CATALOGUE, cold, Board(CacheWarm(cache=Cache())))
    assert (warm.name, warm.lever, warm.risk, warm.target(cold), warm.value(cold)) == (
        "warm_cache", "warm", "low", "feed", "on")
    assert warm.verify_seconds == 180.0 and warm.max_per_hour == 6
    assert names(cold, Board()) == []  # a job worker's board has no warm lever


def test_a_setting_for_one_action_leaves_the_others_theirs():
    settings = Settings(monitor_action_hold_seconds={"shed": 60})
    holds = {action.name: action.hold_seconds for action in actions.catalogue(settings)}
    assert holds["shed"] == 60
    assert holds["serve_stale"] == Settings().monitor_action_hold_seconds["serve_stale"]
