"""The catalogue of remediation actions, from settings, and which of them apply here: an action
applies only where its lever exists and accepts the detection's target (a route class the
concurrency lever measures, one the domain declared stale-servable, a known queue)."""

from typing import Protocol

from lifeceo.errors import Conflict, NotFound, Unprocessable
from lifeceo.platform.levers.board import Lever, Setting
from lifeceo.platform.monitor import flag_rollback, statement_actions
from lifeceo.platform.monitor.detectors import Detection
from lifeceo.platform.monitor.remediation import Action, Risk
from lifeceo.platform.monitor.statement_detectors import RUNAWAY_QUERY, SLOW_QUERY
from lifeceo.settings import Settings

# The actor of what the monitor does on its own, in the lever's log line and the table.
MONITOR_ACTOR = "monitor"


class Levers(Protocol):
    """What the monitor needs of a LeverBoard (the app gives it the web process's)."""

    def lever(self, name: str) -> Lever: ...

    async def pull(self, name: str, *, target: str, value: str, seconds: int,
                   actor: str) -> Setting: ...

    async def undo(self, name: str, *, target: str, actor: str) -> None: ...


def catalogue(settings: Settings) -> list[Action]:
    """In the order they are tried: for a slow route class, shedding (the class's own requests
    wait less) before serving stale (signed-in readers get the anonymous page)."""

    def made(name: str, detector: str, lever: str, risk: Risk, target, value,
             advisory: str = "") -> Action:
        return Action(name=name, detector=detector, lever=lever, risk=risk, target=target,
                      value=value, hold_seconds=settings.monitor_action_hold_seconds[name],
                      verify_seconds=settings.monitor_action_verify_seconds[name],
                      cooldown_seconds=settings.monitor_action_cooldown_seconds[name],
                      max_per_hour=settings.monitor_action_max_per_hour[name],
                      advisory=advisory)

    def label(detection: Detection) -> str:
        return detection.label

    return [
        made("shed", "slow_api_response", "concurrency", Risk.LOW, label, lambda _: "on"),
        made("serve_stale", "slow_api_response", "stale", Risk.LOW, label, lambda _: "on"),
        # The flag changed last in the minutes before an error burst, back to what it was.
        made("rollback_flag", "error_burst", flag_rollback.NAME, Risk.LOW,
             flag_rollback.suspect_flag, flag_rollback.suspect_change),
        # The cache's Redis slower than the database: L1 and the database serve meanwhile. Not
        # for a Redis that fails: its breaker opens by itself, and a hold would keep it open
        # after Redis is back.
        made("open_breaker", "slow_dependency", "breaker", Risk.LOW,
             lambda detection: "cache" if "database_seconds" in detection.evidence else "",
             lambda _: "open"),
        made("tighten_client", "abusive_client", "client_limit", Risk.LOW, label,
             lambda _: settings.monitor_tightened_client_limit),
        made("raise_queue_concurrency", "queue_backlog", "queue", Risk.LOW, label,
             lambda _: str(settings.jobs_concurrency_max)),
        # Recomputes what readers were missing; the entries it makes expire as any other, so
        # its undo releases nothing.
        made("warm_cache", "low_cache_hit_rate", "warm", Risk.LOW, label, lambda _: "on"),
        # A replacement worker starts cold (empty L1 cache, new connections): an administrator
        # decides whether the leak is worth it now.
        made("recycle_worker", "memory_usage_high", "recycle", Risk.HIGH, lambda _: "any",
             lambda _: "graceful"),
        # Its client gets an error and may retry; only that statement, while it still runs.
        made("cancel_query", RUNAWAY_QUERY, statement_actions.CANCEL, Risk.HIGH, label,
             statement_actions.started_at),
        # Approving it records the suggestion; the index itself goes in through a migration.
        made("suggest_index", SLOW_QUERY, statement_actions.INDEX, Risk.HIGH, label,
             statement_actions.candidate_index, advisory=statement_actions.ACCEPTED_NOTE),
    ]


def applicable(actions: list[Action], detection: Detection, levers: Levers) -> list[Action]:
    """The actions for `detection` whose lever is here and takes its target; a lever that takes
    it but cannot act now (a recycle without a supervisor: Conflict) still applies, and its
    refusal is recorded when it is pulled."""
    found = []
    for action in actions:
        if action.detector != detection.detector:
            continue
        try:
            levers.lever(action.lever).check(action.target(detection), action.value(detection))
        except (NotFound, Unprocessable):
            continue
        except Conflict:
            pass  # refused for now, not inapplicable
        found.append(action)
    return found
