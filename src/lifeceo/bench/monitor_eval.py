"""`lifeceo monitor eval`: a real server under a steady background load, a clean period, then
each fault in turn through the chaos API, scored from what the monitor's admin API recorded."""

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console

from lifeceo.bench import workloads, wrk
from lifeceo.bench.faults import FAULTS, PlannedFault
from lifeceo.bench.purge_receiver import PurgeReceiver
from lifeceo.bench.runner import ensure_data_set
from lifeceo.bench.scorecard import FaultScore, Scorecard, Sighting
from lifeceo.bench.server import BenchServer

# The defaults suit production (10 s points, judged over 1 and 5 minutes, resolved after 2 quiet
# minutes), where a run of nine faults would take hours; here every time scale is cut by about
# five, so a fault of a minute spans 30 points and its incident resolves within a minute.
EVAL_SETTINGS = {
    "LIFECEO_CHAOS_ENABLED": "true",
    "LIFECEO_METRICS_HISTORY_ENABLED": "true",
    "LIFECEO_MONITOR_ENABLED": "true",
    "LIFECEO_METRICS_HISTORY_INTERVAL_SECONDS": "2",
    "LIFECEO_MONITOR_INTERVAL_SECONDS": "3",
    "LIFECEO_MONITOR_SHORT_WINDOW_SECONDS": "20",
    "LIFECEO_MONITOR_LONG_WINDOW_SECONDS": "60",
    "LIFECEO_MONITOR_RESOLVE_AFTER_SECONDS": "30",
    # A queue is late after 2 minutes in production: 30 s here, or no stall of a minute shows.
    "LIFECEO_MONITOR_QUEUE_MAX_AGE_SECONDS": "30",
}
# Before the clean period: caches filled, the first history points written, not scored.
WARMUP_SECONDS = 10
# After clearing: a detection this soon still belongs to the fault (a point written late, an
# evaluation under way).
GRACE_SECONDS = 8
# The background load runs wrk in chunks this long until it is stopped.
LOAD_CHUNK_SECONDS = 10
POLL_SECONDS = 2
MONITOR = "/api/v1/admin/monitor"
# Pages of incidents read at most: a run opens tens, a page holds 100.
MAX_PAGES = 10


@dataclass(frozen=True)
class EvalOptions:
    data_dir: Path
    output_dir: Path
    users: int
    posts: int
    events: int
    workers: int
    faults: tuple[str, ...]
    clean_seconds: float
    fault_seconds: float
    recovery_seconds: float
    connections: int
    delay_ms: int


def run(options: EvalOptions, console: Console) -> Path:
    options.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_data_set(data_dir=options.data_dir, users=options.users, posts=options.posts,
                    events=options.events, console=console)
    card = Scorecard(clean_seconds=options.clean_seconds, settings={
        "workers": options.workers, "users": options.users, "posts": options.posts,
        "fault_seconds": options.fault_seconds, "recovery_seconds": options.recovery_seconds,
        "load": f"{options.connections} connections, {options.delay_ms} ms apart",
        **{key.removeprefix("LIFECEO_").lower(): value for key, value in EVAL_SETTINGS.items()
           if key.endswith("SECONDS")}})
    log = options.data_dir / "monitor-eval-server.log"
    with PurgeReceiver() as purges, BenchServer(
            options.data_dir, workers=options.workers, log=log,
            overrides={**EVAL_SETTINGS, "LIFECEO_VARNISH_PURGE_URLS": purges.url}) as server:
        fixtures = workloads.gather(server.url)
        load = BackgroundLoad(server.url, workloads.background(fixtures),
                              connections=options.connections, delay_ms=options.delay_ms)
        admin = httpx.Client(base_url=server.url, timeout=30,
                             headers={"Authorization": f"Bearer {fixtures.tokens[0]}"})
        with admin, load:
            time.sleep(WARMUP_SECONDS)
            console.print(f"clean period: {options.clean_seconds:g} s")
            started = _now()
            time.sleep(options.clean_seconds)
            card.false_positives = sightings(admin, since=started, until=_now())
            for kind in options.faults:
                card.faults.append(_score(admin, FAULTS[kind], options, console))
        card.load = {**load.figures(), "purges": purges.purges}
    path = card.write(options.output_dir)
    console.print(card.as_markdown())
    return path


def _score(admin: httpx.Client, fault: PlannedFault, options: EvalOptions,
           console: Console) -> FaultScore:
    """Inject, hold, clear, wait for recovery; then read what the monitor recorded."""
    carried = [i["id"] for i in _incidents(admin) if i["state"] != "resolved"]
    console.print(f"{fault.kind}: {fault.magnitude:g} on {fault.target or 'all'} for "
                  f"{options.fault_seconds:g} s ({fault.why})")
    injected = _now()
    admin.post(f"/api/v1/admin/chaos/{fault.kind}", json={
        "magnitude": fault.magnitude, "seconds": math.ceil(options.fault_seconds),
        "target": fault.target}).raise_for_status()
    time.sleep(options.fault_seconds)
    admin.delete(f"/api/v1/admin/chaos/{fault.kind}").raise_for_status()
    time.sleep(GRACE_SECONDS)
    score = FaultScore(kind=fault.kind, magnitude=fault.magnitude, target=fault.target or "all",
                       seconds=options.fault_seconds, expected=list(fault.expected),
                       sightings=sightings(admin, since=injected, until=_now()),
                       carried_over=carried)
    ids = {sighting.incident_id for sighting in score.sightings}
    deadline = time.monotonic() + options.recovery_seconds
    while time.monotonic() < deadline and _unresolved(admin) - set(carried):
        time.sleep(POLL_SECONDS)
    if ids:
        score.incidents_resolved = not ids & _unresolved(admin)
    actions = [action for action in _get(admin, f"{MONITOR}/actions", limit=100)
               if action["incident_id"] in ids and _at(action["proposed_at"]) >= injected]
    score.actions = [f"{action['action']}: {action['outcome']}" for action in actions]
    score.undo_needed = any(action["outcome"] == "undone" for action in actions)
    mitigated = [_at(action["settled_at"]) for action in actions
                 if action["outcome"] == "mitigated" and action["settled_at"]]
    if mitigated:
        score.seconds_to_mitigate = round((min(mitigated) - injected).total_seconds(), 1)
    console.print(f"  detected by {', '.join(score.detected_by) or 'nothing'}; "
                  f"actions: {', '.join(score.actions) or 'none'}")
    return score


def sightings(admin: httpx.Client, *, since: datetime, until: datetime) -> list[Sighting]:
    """Incidents opened between `since` and `until`, or reopened then (a resolved fingerprint
    detected again within its cooldown keeps its old opening time)."""
    found = []
    for incident in _incidents(admin):
        if _at(incident["last_detected_at"]) < since:
            continue
        opened = _at(incident["opened_at"])
        times = [opened] if since <= opened <= until else [
            _at(entry["at"]) for entry in _get(admin, f"{MONITOR}/incidents/{incident['id']}")
            ["timeline"] if entry["kind"] == "state" and entry["detail"].get("from") ==
            "resolved" and since <= _at(entry["at"]) <= until]
        if times:
            found.append(Sighting(incident["id"], incident["detector"], incident["label"],
                                  round((min(times) - since).total_seconds(), 1)))
    return sorted(found, key=lambda sighting: sighting.seconds)


def _incidents(admin: httpx.Client) -> list[dict]:
    found, cursor = [], None
    for _ in range(MAX_PAGES):
        page = _get(admin, f"{MONITOR}/incidents", limit=100,
                    **({"cursor": cursor} if cursor else {}))
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return found


def _unresolved(admin: httpx.Client) -> set[int]:
    return {incident["id"] for incident in _incidents(admin) if incident["state"] != "resolved"}


def _get(admin: httpx.Client, path: str, **params):
    response = admin.get(path, params=params)
    response.raise_for_status()
    return response.json()


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _now() -> datetime:
    return datetime.now(UTC)


class BackgroundLoad:
    """wrk over the background mix, in chunks on a thread until the block ends, each connection
    pausing between requests: a steady rate that leaves the server's CPU to the server."""

    def __init__(self, url: str, lines: list[wrk.RequestLine], *, connections: int,
                 delay_ms: int) -> None:
        self._run = lambda: wrk.run(url, lines, connections=connections,
                                    seconds=LOAD_CHUNK_SECONDS, threads=1, delay_ms=delay_ms)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drive, name="background load", daemon=True)
        self._results: list[wrk.Result] = []
        self._failure: Exception | None = None

    def __enter__(self) -> "BackgroundLoad":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._failure is not None:
            raise RuntimeError(f"the background load failed: {self._failure}")

    def _drive(self) -> None:
        try:
            while not self._stop.is_set():
                self._results.append(self._run())
        except Exception as exc:  # reported when the block ends, not lost with the thread
            self._failure = exc

    def figures(self) -> dict[str, float]:
        seconds = sum(result.seconds for result in self._results)
        requests = sum(result.requests for result in self._results)
        return {"requests": requests, "rps": round(requests / seconds, 1) if seconds else 0,
                "socket errors": sum(result.errors for result in self._results),
                "non-2xx": sum(result.non_2xx_3xx for result in self._results)}
