"""Remediation in the real application over recorded history: a low-risk action pulls its lever
and is mitigated only when the detector goes quiet; an ineffective one is undone (the lever
released) and the incident escalated; a high-risk one waits for an administrator, who approves
or rejects it through the API or `lifeceo monitor`; dry-run and the kill switch pull nothing;
cooldowns hold across leaders because the history is in the database."""

import asyncio
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs
from tests import factories
from tests.integration.platform.monitor.test_monitor_api import (
    MIB,
    MONITOR,
    Clock,
    interval_now,
    run_cli,
    write_points,
)

from lifeceo.platform.monitor.leader import Monitor
from lifeceo.platform.monitor.models import MonitorAction, MonitorIncident
from lifeceo.settings import Settings


@pytest.fixture
async def monitors(app):
    """Monitors with the application's lever board; every lever released afterwards."""
    made: list[Monitor] = []
    board = app.state.levers

    def make(clock: Clock, **overrides) -> Monitor:
        settings = app.state.settings.model_copy(update=overrides)
        made.append(Monitor(settings, app.state.engine, app.state.sessionmaker, clock=clock,
                            levers=board))
        return made[-1]

    yield make
    for monitor in made:
        await monitor.close()
    for setting in board.settings():
        await board.undo(setting.lever, target=setting.target, actor="test")


def enabled(app, lever: str, target: str) -> bool:
    return app.state.levers.state()["levers"][lever][target]["enabled"]


def latency(now: datetime, seconds: float, *, count: int, start: int = 0):
    """`count` points of 20 requests each, 10 s apart, ending `start` intervals before `now`."""
    return [(now - timedelta(seconds=10 * (start + i)), seconds, 20) for i in range(count)]


async def incident(app, fingerprint: str) -> MonitorIncident:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(MonitorIncident)
                                    .where(MonitorIncident.fingerprint == fingerprint))


async def test_shedding_a_slow_class_is_verified_then_the_incident_mitigated(
        app, client, admin, monitors):  # noqa: F811
    now = interval_now()
    # Five minutes of search's p95 at 500 ms, far past its 200 ms objective.
    await write_points(app, "http_latency_p95_seconds", "search", latency(now, 0.5, count=30))
    clock = Clock(now + timedelta(seconds=1))
    monitor = monitors(clock)
    first = await monitor.lead()
    [shed] = first.actions["verifying"]
    assert enabled(app, "concurrency", "search")
    [listed] = (await client.get(f"{MONITOR}/actions", headers=admin)).json()
    assert (listed["id"], listed["action"], listed["lever"], listed["target"], listed["value"],
            listed["actor"]) == (shed, "shed", "concurrency", "search", "on", "monitor")

    # Search is fast again for the short window: the detector is quiet, the shed helped.
    later = now + timedelta(seconds=70)
    await write_points(app, "http_latency_p95_seconds", "search", latency(later, 0.05, count=7))
    clock.now = later + timedelta(seconds=1)
    second = await monitor.lead()
    assert second.actions == {"mitigated": [shed]}
    found = await incident(app, "slow_api_response:search")
    assert (found.state, found.mitigated_at) == ("mitigated", clock.now)
    detail = (await client.get(f"{MONITOR}/incidents/{found.id}", headers=admin)).json()
    assert [e["kind"] for e in detail["timeline"]] == ["detected", "action", "action", "state"]
    assert [e["detail"].get("outcome") for e in detail["timeline"][1:3]] == [
        "verifying", "mitigated"]
    # The lever is left to expire after its hold, not released on mitigation.
    assert enabled(app, "concurrency", "search")
    metrics = (await client.get("/api/metrics")).text
    assert 'lifeceo_monitor_actions_total{action="shed",outcome="mitigated"}' in metrics


async def test_a_cold_namespace_is_warmed_and_mitigated_once_its_hit_ratio_is_back(
        app, client, admin, monitors):  # noqa: F811
    now = interval_now()
    # An hour of the feed namespace at 95 %, then a minute at 30 %, 100 lookups an interval.
    normal = [(now - timedelta(seconds=10 * i), 0.95, 100) for i in range(6, 366)]
    cold = [(now - timedelta(seconds=10 * i), 0.30, 100) for i in range(6)]
    await write_points(app, "cache_hit_ratio", "feed", normal + cold)
    clock = Clock(now + timedelta(seconds=1))
    monitor = monitors(clock)
    first = await monitor.lead()
    [warm] = first.actions["verifying"]
    assert [(s.lever, s.target, s.value) for s in app.state.levers.settings()
            if s.lever == "warm"] == [("warm", "feed", "on")]
    [listed] = (await client.get(f"{MONITOR}/actions", headers=admin)).json()
    assert (listed["action"], listed["lever"], listed["target"]) == ("warm_cache", "warm", "feed")

    later = now + timedelta(seconds=70)
    await write_points(app, "cache_hit_ratio", "feed", [
        (later - timedelta(seconds=10 * i), 0.95, 100) for i in range(7)])
    clock.now = later + timedelta(seconds=1)
    assert (await monitor.lead()).actions == {"mitigated": [warm]}
    assert (await incident(app, "low_cache_hit_rate:feed")).state == "mitigated"


async def test_an_ineffective_action_is_undone_and_the_incident_escalated(
        app, client, admin, monitors):  # noqa: F811
    now = interval_now()
    await write_points(app, "http_latency_p95_seconds", "search", latency(now, 0.5, count=30))
    clock = Clock(now + timedelta(seconds=1))
    monitor = monitors(clock)
    [shed] = (await monitor.lead()).actions["verifying"]
    assert enabled(app, "concurrency", "search")
    # Shedding does not help: search stays slow for the whole verification window (180 s).
    await write_points(app, "http_latency_p95_seconds", "search",
                       latency(now + timedelta(seconds=180), 0.5, count=18))
    clock.advance(90)
    assert (await monitor.lead()).actions == {}  # still slow, still within the window
    assert enabled(app, "concurrency", "search")
    clock.advance(90)
    with capture_logs() as logs:
        undone = await monitor.lead()
    assert undone.actions["undone"] == [shed]
    assert not enabled(app, "concurrency", "search")
    assert any(entry["event"] == "monitor action did not help" for entry in logs)
    found = await incident(app, "slow_api_response:search")
    assert (found.state, found.severity) == ("open", "critical")
    # The next action for the class is tried at once: search also serves stale.
    [stale] = undone.actions["verifying"]
    assert enabled(app, "stale", "search")
    actions = {a["id"]: a for a in (await client.get(f"{MONITOR}/actions", headers=admin)).json()}
    assert (actions[shed]["outcome"], actions[stale]["action"]) == ("undone", "serve_stale")
    assert "still detected 180 s after shed" in actions[shed]["note"]
    detail = (await client.get(f"{MONITOR}/incidents/{found.id}", headers=admin)).json()
    kinds = [(e["kind"], e["detail"].get("outcome") or e["detail"].get("to"))
             for e in detail["timeline"]]
    assert kinds == [("detected", None), ("action", "verifying"), ("action", "undone"),
                     ("severity", "critical"), ("action", "verifying")]


async def test_a_risky_action_waits_for_an_administrator(
        app, client, admin, monitors, database_url):  # noqa: F811
    now = interval_now()
    # RSS of the largest worker rising 10 MiB per 10 s from 500 MiB, towards 1 GiB.
    await write_points(app, "process_rss_bytes", "max", [
        (now - timedelta(seconds=10 * (29 - i)), (500 + 10 * i) * MIB, 2) for i in range(30)])
    clock = Clock(now + timedelta(seconds=1))
    # No cooldown and room under the cap, so that one leak is proposed again after a decision.
    monitor = monitors(clock, monitor_action_cooldown_seconds={
        **Settings.model_fields["monitor_action_cooldown_seconds"].default, "recycle_worker": 0},
        monitor_action_max_per_hour={
        **Settings.model_fields["monitor_action_max_per_hour"].default, "recycle_worker": 10})
    [waiting] = (await monitor.lead()).actions["awaiting_approval"]
    assert app.state.levers.settings() == []  # nothing pulled
    member = await factories.user(client, "member")
    assert (await client.get(f"{MONITOR}/actions", headers=member)).status_code == 403
    for decision in ("approve", "reject"):
        assert (await client.post(f"{MONITOR}/actions/{waiting}/{decision}",
                                  headers=member)).status_code == 403
    assert (await client.post(f"{MONITOR}/actions/999/approve",
                              headers=admin)).status_code == 404

    rejected = await client.post(f"{MONITOR}/actions/{waiting}/reject", headers=admin,
                                 json={"note": "peak hour; tonight"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["outcome"], rejected.json()["note"]) == ("rejected",
                                                                     "peak hour; tonight")
    assert rejected.json()["actor"].startswith("user:")
    again = await client.post(f"{MONITOR}/actions/{waiting}/approve", headers=admin)
    assert again.status_code == 409

    # Approved, the recycle lever refuses in this process (no supervisor to start a
    # replacement): 409, and the action is settled as failed with the lever's reason.
    clock.advance(15)
    [second] = (await monitor.lead()).actions["awaiting_approval"]
    listed = (await client.get(f"{MONITOR}/actions", headers=admin)).json()
    assert [a["id"] for a in listed] == [second, waiting]  # awaiting approval first
    refused = await client.post(f"{MONITOR}/actions/{second}/approve", headers=admin)
    assert refused.status_code == 409
    assert "no supervisor" in refused.json()["detail"]
    [failed] = (await client.get(f"{MONITOR}/actions", params={"outcome": "failed"},
                                 headers=admin)).json()
    assert (failed["id"], failed["applied_at"]) == (second, None)
    assert "no supervisor" in failed["note"]
    assert app.state.levers.settings() == []

    # The command line: the list, a rejection with its note, and a refused second decision.
    clock.advance(15)
    [third] = (await monitor.lead()).actions["awaiting_approval"]
    listed = await asyncio.to_thread(run_cli, "monitor", "actions", "--json", url=database_url)
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)[0]["id"] == third
    cli_rejected = await asyncio.to_thread(run_cli, "monitor", "reject", str(third), "--note",
                                           "not now", "--json", url=database_url)
    assert cli_rejected.exit_code == 0, cli_rejected.output
    assert json.loads(cli_rejected.stdout)["actor"] == "cli"
    cli_again = await asyncio.to_thread(run_cli, "monitor", "approve", str(third),
                                        url=database_url)
    assert cli_again.exit_code == 1 and "not awaiting approval" in cli_again.output
    # Approved from the command line, a recycle of "any" goes to a supervised web worker that
    # answers over the hub: the test's application has none, so it fails with that reason.
    clock.advance(15)
    [fourth] = (await monitor.lead()).actions["awaiting_approval"]
    cli_approved = await asyncio.to_thread(run_cli, "monitor", "approve", str(fourth),
                                           url=database_url)
    assert cli_approved.exit_code == 1 and "supervisor" in cli_approved.output
    [failed_cli] = [a for a in (await client.get(f"{MONITOR}/actions", headers=admin)).json()
                    if a["id"] == fourth]
    assert (failed_cli["outcome"], failed_cli["actor"]) == ("failed", "cli")
    assert app.state.levers.settings() == []


async def test_dry_run_records_and_pulls_nothing_and_the_kill_switch_proposes_nothing(
        app, monitors):
    now = interval_now()
    await write_points(app, "http_latency_p95_seconds", "search", latency(now, 0.5, count=30))
    await write_points(app, "http_latency_p95_seconds", "feed", latency(now, 0.5, count=30))
    clock = Clock(now + timedelta(seconds=1))
    dry_monitor = monitors(clock, monitor_dry_run=True)
    dry = await dry_monitor.lead()
    assert sorted(dry.actions) == ["dry_run"] and len(dry.actions["dry_run"]) == 2
    assert app.state.levers.settings() == []
    async with app.state.sessionmaker() as session:
        rows = list(await session.scalars(select(MonitorAction).order_by(MonitorAction.id)))
    assert sorted((row.action, row.target, row.outcome) for row in rows) == [
        ("shed", "feed", "dry_run"), ("shed", "search", "dry_run")]

    # The kill switch: detections and incidents as usual, no action at all.
    await dry_monitor.close()
    await write_points(app, "http_latency_p95_seconds", "events", latency(now, 0.5, count=30))
    off = await monitors(clock, monitor_actions_enabled=False).lead()
    assert "slow_api_response:events" in {d.fingerprint for d in off.detections}
    assert off.actions == {}
    async with app.state.sessionmaker() as session:
        assert len(list(await session.scalars(select(MonitorAction)))) == 2
    assert app.state.levers.settings() == []


async def test_a_cooldown_holds_across_leaders(app, client, admin, monitors):  # noqa: F811
    now = interval_now()
    # The email queue's oldest job waited 5 minutes, 100 due and not draining.
    await write_points(app, "queue_oldest_age_seconds", "email", [
        (now - timedelta(seconds=10 * i), 300.0, 1) for i in range(10)])
    await write_points(app, "queue_depth", "email", [
        (now - timedelta(seconds=10 * i), 100.0, 1) for i in range(10)])
    clock = Clock(now + timedelta(seconds=1))
    first = monitors(clock)
    [raised] = (await first.lead()).actions["verifying"]
    [setting] = app.state.levers.settings()
    assert (setting.lever, setting.target, setting.value) == ("queue", "email", "20")
    # Drained: its oldest job is fresh.
    await write_points(app, "queue_oldest_age_seconds", "email", [
        (now + timedelta(seconds=10), 5.0, 1)])
    clock.advance(15)
    assert (await first.lead()).actions == {"mitigated": [raised]}
    await first.close()

    # Backlogged again under another leader, within the action's cooldown (30 min): the
    # incident goes back to open, and no second attempt is made.
    await write_points(app, "queue_oldest_age_seconds", "email", [
        (now + timedelta(seconds=20), 400.0, 1)])
    clock.advance(15)
    second = monitors(clock)
    outcome = await second.lead()
    assert "queue_backlog:email" in {d.fingerprint for d in outcome.detections}
    assert outcome.actions == {}
    found = await incident(app, "queue_backlog:email")
    assert (found.state, found.mitigated_at) == ("open", None)
    listed = (await client.get(f"{MONITOR}/actions", headers=admin)).json()
    assert [(a["id"], a["outcome"]) for a in listed] == [(raised, "mitigated")]
