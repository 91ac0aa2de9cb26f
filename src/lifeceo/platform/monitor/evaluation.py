"""One evaluation by the leader: the history each detector needs, every detector, and what
their findings do to the incidents, predictions and remediation actions, in one transaction."""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lifeceo.platform.monitor import (
    acting,
    evidence,
    flag_rollback,
    forecast,
    incidents,
    notify,
    repository,
)
from lifeceo.platform.monitor.actions import Levers
from lifeceo.platform.monitor.detectors import Detection, Detector
from lifeceo.platform.monitor.incidents import MITIGATED, OPEN, RESOLVED
from lifeceo.platform.monitor.notify import Notice
from lifeceo.platform.monitor.remediation import Action
from lifeceo.platform.monitor.signals import LOGGED_ERRORS, Point, SameHour, Signals
from lifeceo.platform.monitor.statement_detectors import ACTIVITY, DATABASE_INPUTS, STATEMENTS
from lifeceo.platform.monitor.statement_readings import DatabaseReadings
from lifeceo.platform.observability import error_groups, logs_repository, metrics
from lifeceo.platform.observability.profiles_report import ProfileReport
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
# Error groups read per evaluation, the busiest first: a burst has one or a few; hundreds of
# distinct ones at once are one incident's symptoms, and its evidence names them.
MAX_ERROR_GROUPS = 50
# Same-hour baselines read the 1-minute rollups: a week of an hour a day is 420 rows a label,
# where the raw samples would be 2,520 and are kept only 48 h.
SAME_HOUR_RESOLUTION_SECONDS = 60


@dataclass
class DetectorState:
    name: str
    evaluated_at: datetime
    duration_ms: float
    detections: list[dict[str, Any]]
    baseline: dict[str, Any] | None
    error: str | None

    def row(self, leader: str) -> dict[str, Any]:
        return {"name": self.name, "evaluated_at": self.evaluated_at, "leader": leader,
                "duration_ms": self.duration_ms, "detections": self.detections,
                "baseline": self.baseline, "error": self.error}


@dataclass
class Outcome:
    at: datetime
    detections: list[Detection]
    states: list[DetectorState]
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    # Remediation action ids by the outcome this evaluation gave them.
    actions: dict[str, list[int]] = field(default_factory=dict)
    # Notification jobs queued (lifeceo.platform.monitor.notify).
    notified: int = 0
    # Seconds reading the history, in the detectors, and in all.
    read_seconds: float = 0.0
    detect_seconds: float = 0.0
    seconds: float = 0.0


def windows(detectors: list[Detector]) -> dict[str, timedelta]:
    """Each series any detector reads, over the largest window that reads it."""
    found: dict[str, timedelta] = {}
    for detector in detectors:
        for name in set(detector.inputs) - DATABASE_INPUTS:
            found[name] = max(found.get(name, detector.window), detector.window)
    return found


def learned(detectors: list[Detector]) -> set[str]:
    """The series whose baseline some detector learns (detectors.learn): their same hour is
    read, and only theirs."""
    return {name for detector in detectors for name in getattr(detector, "learns", ())}


async def read_same_hour(session: AsyncSession, settings: Settings, *, names: set[str],
                         series: dict[str, dict[str, list[Point]]], now: datetime) -> SameHour:
    """The previous days' 1-minute rollups around now's time of day, one query per series, for
    the labels that have recent points (no recent point, nothing to judge)."""
    points = {}
    for name in sorted(names):
        labels = sorted(series.get(name, {}))
        if labels:
            points[name] = await repository.same_hour_points(
                session, name=name, labels=labels, now=now, days=settings.monitor_seasonal_days,
                half_window=timedelta(seconds=settings.monitor_seasonal_half_window_seconds),
                resolution_seconds=SAME_HOUR_RESOLUTION_SECONDS)
    return SameHour.of(points, now=now, min_days=settings.monitor_seasonal_min_days,
                       min_points_per_day=settings.monitor_seasonal_min_points_per_day,
                       rollup_seconds=SAME_HOUR_RESOLUTION_SECONDS)


async def read_series(session: AsyncSession, name: str, *, since: datetime, until: datetime,
                      step_seconds: float) -> dict[str, list[Point]]:
    """A series of the metrics history, or the errors counted per group and interval from the
    shipped log records (signals.LOGGED_ERRORS)."""
    if name != LOGGED_ERRORS:
        return await repository.points(session, name=name, since=since, until=until)
    found: dict[str, list[Point]] = {}
    for error_type, location, ends, errors in await logs_repository.error_counts(
            session, since=since, until=until, step_seconds=step_seconds,
            max_groups=MAX_ERROR_GROUPS):
        found.setdefault(error_groups.label(error_type, location), []).append(
            Point(ends, float(errors), errors))
    return found


def detect(detectors: list[Detector], signals: Signals,
           failing: set[str]) -> tuple[list[Detection], list[DetectorState]]:
    """Every detector over the signals; one that raises is reported, the others still run."""
    found, states = [], []
    for detector in detectors:
        started = time.perf_counter()
        error = None
        try:
            detections = detector.evaluate(signals)
        except Exception as exc:  # noqa: BLE001 - a detector's bug must not blind the others
            detections, error = [], f"{type(exc).__name__}: {exc}"[:500]
            if detector.name not in failing:
                failing.add(detector.name)
                log.exception("monitor detector failing", detector=detector.name)
        else:
            failing.discard(detector.name)
        found += detections
        baseline = next((d.evidence["baseline"] for d in detections if "baseline" in d.evidence),
                        None)
        if error is None and hasattr(detector, "baseline_of"):
            # What it compared with, or why it could not (a view the server does not have).
            baseline = detector.baseline_of(signals)
        states.append(DetectorState(
            name=detector.name, evaluated_at=signals.now,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            detections=[{"fingerprint": d.fingerprint, "severity": d.severity,
                         "summary": d.summary} for d in detections],
            baseline=baseline, error=error))
    return found, states


async def evaluate(*, settings: Settings, detectors: list[Detector], engine: AsyncEngine,
                   sessionmaker: async_sessionmaker[AsyncSession], now: datetime, leader: str,
                   failing: set[str], actions: list[Action] | None = None,
                   levers: Levers | None = None,
                   readings: DatabaseReadings | None = None,
                   profiles: ProfileReport | None = None) -> Outcome:
    """Without `levers` (a monitor the app gave no board) nothing is remediated; without
    `readings` (the leader's previous pg_stat_statements reading) no statement is slow yet;
    without `profiles` an incident's evidence names no repeated statements."""
    started = time.perf_counter()
    async with sessionmaker() as session:
        series = {name: await read_series(session, name, since=now - window, until=now,
                                          step_seconds=settings.metrics_history_interval_seconds)
                  for name, window in windows(detectors).items()}
        same_hour = await read_same_hour(session, settings, names=learned(detectors),
                                         series=series, now=now)
    inputs = {name for detector in detectors for name in detector.inputs}
    readings = readings or DatabaseReadings(
        max_statements=settings.monitor_slow_query_max_statements)
    signals = Signals(
        now=now, step_seconds=settings.metrics_history_interval_seconds, series=series,
        statements=(await readings.statements(engine, at=now)
                    if STATEMENTS in inputs else None),
        activity=await readings.activity(engine) if ACTIVITY in inputs else None,
        same_hour=same_hour)
    read = time.perf_counter()
    detections, states = detect(detectors, signals, failing)
    detected = time.perf_counter()
    outcome = Outcome(at=now, detections=detections, states=states,
                      read_seconds=read - started, detect_seconds=detected - read)
    by_name = {detector.name: detector for detector in detectors}
    repeated = await gather_repeated(detections, by_name, settings=settings, now=now,
                                     profiles=profiles, sessionmaker=sessionmaker)
    notices: list[Notice] = []
    async with sessionmaker() as session, session.begin():
        await judge_predictions(session, now=now)
        unresolved = await repository.unresolved(session)
        cooldown = timedelta(seconds=settings.monitor_cooldown_seconds)
        decided = incidents.plan(
            detections, unresolved=unresolved,
            recently_resolved=await repository.resolved_since(session, since=now - cooldown),
            now=now, resolve_after=timedelta(seconds=settings.monitor_resolve_after_seconds),
            cooldown=cooldown)
        for detection in decided.opened:
            incident_id = await open_incident(session, detection, settings=settings,
                                              engine=engine, now=now,
                                              window=by_name[detection.detector].window,
                                              repeated=repeated)
            if incident_id is not None:
                outcome.opened.append(incident_id)
                notices.append(Notice(incident_id, notify.OPENED))
        for known, detection, graver in decided.redetected:
            # A mitigated incident detected again was not mitigated after all.
            reopened = {"state": OPEN, "mitigated_at": None} if known.state == MITIGATED else {}
            await repository.count_detection(session, known.id, at=now, **reopened,
                                             **({"severity": graver} if graver else {}))
            if reopened:
                incidents.check_transition(known.state, OPEN)
                await repository.add_timeline(session, known.id, at=now, kind="state", detail={
                    "from": MITIGATED, "to": OPEN, "summary": detection.summary,
                    "reason": "detected again after its mitigation"})
                notices.append(Notice(known.id, notify.REOPENED, {
                    "reason": "detected again after its mitigation"}))
            if graver:
                await repository.add_timeline(session, known.id, at=now, kind="severity",
                                              detail={"from": known.severity, "to": graver,
                                                      "summary": detection.summary})
                notices.append(Notice(known.id, notify.ESCALATED, {
                    "from": known.severity, "to": graver, "reason": detection.summary}))
        for known, detection in decided.reopened:
            await repository.count_detection(session, known.id, at=now, state=OPEN,
                                             resolved_at=None)
            await repository.add_timeline(session, known.id, at=now, kind="state", detail={
                "from": RESOLVED, "to": OPEN, "summary": detection.summary,
                "reason": "detected again within the cooldown"})
            notices.append(Notice(known.id, notify.REOPENED, {
                "reason": "detected again within the cooldown"}))
            metrics.monitor_incidents_opened.labels(detection.detector).inc()
        for known in decided.resolved:
            incidents.check_transition(known.state, RESOLVED)
            await repository.update_incident(session, known.id, state=RESOLVED, resolved_at=now)
            await repository.add_timeline(session, known.id, at=now, kind="state", detail={
                "from": known.state, "to": RESOLVED,
                "reason": f"quiet for {settings.monitor_resolve_after_seconds:.0f} s"})
            outcome.resolved.append(known.id)
            notices.append(Notice(known.id, notify.RESOLVED))
        if levers is not None and actions:
            acted = await acting.remediate(session, settings=settings, actions=actions,
                                           levers=levers, detections=detections, now=now)
            outcome.actions = acted.outcomes
            notices += acted.notices
        outcome.notified = await notify.send(session, notices, settings=settings, now=now)
        await repository.save_detector_states(session, [state.row(leader) for state in states])
    for detection in detections:
        metrics.monitor_detections.labels(detection.detector).inc()
    outcome.seconds = time.perf_counter() - started
    return outcome


async def gather_repeated(detections: list[Detection], by_name: dict[str, Detector], *,
                          settings: Settings, now: datetime, profiles: ProfileReport | None,
                          sessionmaker: async_sessionmaker[AsyncSession]
                          ) -> evidence.RepeatedStatements | None:
    """Every process's repeated statements over the longest window of the detections made of
    SQL that may open an incident (an unresolved one has its evidence); before the evaluation's
    transaction, which the wait for the other processes' answers would otherwise hold open."""
    about_sql = [detection for detection in detections
                 if detection.detector in evidence.ABOUT_STATEMENTS]
    if not about_sql or not settings.monitor_evidence_max_statements:
        return None
    async with sessionmaker() as session:
        unresolved = await repository.unresolved(session)
    windows = [by_name[detection.detector].window for detection in about_sql
               if detection.fingerprint not in unresolved]
    if not windows:
        return None
    return await evidence.repeated_statements(
        profiles, since=now - max(windows), limit=settings.monitor_evidence_max_statements)


async def open_incident(session: AsyncSession, detection: Detection, *, settings: Settings,
                        engine: AsyncEngine, now: datetime, window: timedelta,
                        repeated: evidence.RepeatedStatements | None = None) -> int | None:
    # Errors that a flag change can cause name the last change before them from the start.
    detection = await flag_rollback.with_suspect(
        session, detection, opened_at=now,
        within=timedelta(seconds=settings.monitor_flag_change_window_seconds))
    snapshot = await evidence.snapshot(
        detection, session=session, engine=engine, now=now, window=window,
        max_log_records=settings.monitor_evidence_max_log_records,
        max_statements=settings.monitor_evidence_max_statements, repeated=repeated)
    incident_id = await repository.open_incident(
        session, fingerprint=detection.fingerprint, detector=detection.detector,
        label=detection.label, state=OPEN, severity=detection.severity,
        summary=detection.summary, evidence=snapshot, opened_at=now, last_detected_at=now,
        detections=1)
    if incident_id is None:
        return None  # another leader opened it a moment ago
    await repository.add_timeline(session, incident_id, at=now, kind="detected", detail={
        "severity": detection.severity, "summary": detection.summary})
    prediction = predicted(detection)
    if prediction is not None:
        await repository.add_prediction(session, incident_id=incident_id, made_at=now,
                                        **prediction)
        await repository.add_timeline(session, incident_id, at=now, kind="prediction",
                                      detail=prediction)
    metrics.monitor_incidents_opened.labels(detection.detector).inc()
    log.warning("monitor incident opened", incident=incident_id,
                fingerprint=detection.fingerprint, summary=detection.summary)
    return incident_id


def predicted(detection: Detection) -> dict[str, Any] | None:
    """The forecast in a detection's evidence (a limit reached in so many seconds), if any."""
    made = detection.evidence.get("forecast")
    points = detection.evidence.get("points") or []
    if not isinstance(made, dict) or not {"seconds", "earliest", "latest", "limit"} <= set(made):
        return None
    limit = float(made["limit"])
    return {"detector": detection.detector, "series": detection.evidence.get("series", ""),
            "label": detection.label, "limit_value": limit,
            "rising": not points or points[-1][1] <= limit, "seconds": float(made["seconds"]),
            "earliest": float(made["earliest"]), "latest": float(made["latest"])}


async def judge_predictions(session: AsyncSession, *, now: datetime) -> None:
    """Each pending prediction against the points its series has had since it was made; each
    series and label is read once, from its earliest pending prediction."""
    pending = await repository.predictions(session, outcome="pending", limit=1000)
    earliest: dict[tuple[str, str], datetime] = {}
    for prediction in pending:
        key = (prediction.series, prediction.label)
        earliest[key] = min(earliest.get(key, prediction.made_at), prediction.made_at)
    seen = {(series, label): (await repository.points(
                session, name=series, label=label, since=since, until=now)).get(label, [])
            for (series, label), since in earliest.items()}
    for prediction in pending:
        outcome = forecast.judge(
            forecast.Crossing(seconds=prediction.seconds, earliest=prediction.earliest,
                              latest=prediction.latest),
            made_at=prediction.made_at.timestamp(), limit=prediction.limit_value,
            rising=prediction.rising, now=now.timestamp(),
            points=[(point.ts.timestamp(), point.value)
                    for point in seen[prediction.series, prediction.label]
                    if point.ts > prediction.made_at])
        if outcome == "pending":
            continue
        await repository.judge(session, prediction.id, outcome=outcome, at=now)
        if prediction.incident_id is not None:
            await repository.add_timeline(session, prediction.incident_id, at=now,
                                          kind="prediction", detail={
                                              "prediction": prediction.id, "outcome": outcome})
