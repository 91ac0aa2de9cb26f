"""Tables of the monitor: incidents, their timelines, the predictions made for them, the actions
attempted on them, and each detector's last evaluation (read by every process, whichever one
leads)."""

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base, IdMixin
from lifeceo.platform.observability.history_series import LABEL_CHARS

# The partial unique index's predicate: one unresolved incident per fingerprint.
UNRESOLVED = text("state <> 'resolved'")
# detector:label (detectors.Detection.fingerprint).
FINGERPRINT_CHARS = 200
DETECTOR_CHARS = 64
# open, mitigated, resolved; info, warning, critical; detected, state, prediction, action.
WORD_CHARS = 16
# host:pid:random (history.HistorySampler.process).
PROCESS_CHARS = 128
# remediation.Outcome: awaiting_approval is the longest.
OUTCOME_CHARS = 24
# An action's name, a lever's, "monitor", "user:42", "cli".
NAME_CHARS = 64


class MonitorIncident(IdMixin, Base):
    """One problem from its first detection until the detector has been quiet long enough;
    re-detections count on the row, not in rows of their own."""

    __tablename__ = "monitor_incidents"
    __table_args__ = (
        # At most one unresolved incident per fingerprint, even with two leaders for a moment.
        Index("uq_monitor_incidents_fingerprint_unresolved", "fingerprint", unique=True,
              postgresql_where=UNRESOLVED),
        # Newest first, keyset pages on (opened_at, id), the state's counts and filter.
        Index("ix_monitor_incidents_opened_at_id", "opened_at", "id"),
        Index("ix_monitor_incidents_state", "state"),
        # The cooldown's last resolutions (repository.resolved_since) and the retention's delete.
        Index("ix_monitor_incidents_resolved_at", "resolved_at",
              postgresql_where=text("state = 'resolved'")),
    )

    fingerprint: Mapped[str] = mapped_column(String(FINGERPRINT_CHARS))
    detector: Mapped[str] = mapped_column(String(DETECTOR_CHARS))
    label: Mapped[str] = mapped_column(String(LABEL_CHARS))
    state: Mapped[str] = mapped_column(String(WORD_CHARS))
    severity: Mapped[str] = mapped_column(String(WORD_CHARS))
    summary: Mapped[str] = mapped_column(Text)
    # The detector's evidence at opening, with statements and log records of the window.
    evidence: Mapped[dict] = mapped_column(JSONB)
    opened_at: Mapped[datetime]
    last_detected_at: Mapped[datetime]
    detections: Mapped[int] = mapped_column(Integer)
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


class MonitorTimelineEntry(IdMixin, Base):
    """What happened to an incident: detected, a state change, a prediction, an action."""

    __tablename__ = "monitor_timeline"
    __table_args__ = (Index("ix_monitor_timeline_incident_id_at", "incident_id", "at"),)

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("monitor_incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(WORD_CHARS))
    detail: Mapped[dict] = mapped_column(JSONB)


class MonitorPrediction(IdMixin, Base):
    """A forecast that a series reaches `limit` in about `seconds` (between `earliest` and
    `latest`) after `made_at`, and how it turned out (forecast.judge)."""

    __tablename__ = "monitor_predictions"
    __table_args__ = (Index("ix_monitor_predictions_outcome", "outcome"),
                      Index("ix_monitor_predictions_made_at_id", "made_at", "id"))

    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("monitor_incidents.id", ondelete="CASCADE"))
    detector: Mapped[str] = mapped_column(String(DETECTOR_CHARS))
    series: Mapped[str] = mapped_column(String(DETECTOR_CHARS))
    label: Mapped[str] = mapped_column(String(LABEL_CHARS))
    made_at: Mapped[datetime]
    limit_value: Mapped[float] = mapped_column(Float)
    rising: Mapped[bool] = mapped_column(Boolean)
    seconds: Mapped[float] = mapped_column(Float)
    earliest: Mapped[float] = mapped_column(Float)
    latest: Mapped[float] = mapped_column(Float)
    # pending, hit, miss.
    outcome: Mapped[str] = mapped_column(String(WORD_CHARS))
    judged_at: Mapped[datetime | None]


class MonitorDetectorState(Base):
    """A detector's last evaluation by the leader, for whichever process is asked."""

    __tablename__ = "monitor_detectors"

    name: Mapped[str] = mapped_column(String(DETECTOR_CHARS), primary_key=True)
    evaluated_at: Mapped[datetime]
    leader: Mapped[str] = mapped_column(String(PROCESS_CHARS))
    duration_ms: Mapped[float] = mapped_column(Float)
    # The fingerprints and summaries it found, [] when quiet.
    detections: Mapped[list] = mapped_column(JSONB)
    baseline: Mapped[dict | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)


class MonitorAction(IdMixin, Base):
    """One remediation attempt on an incident (remediation.Attempt): proposed, perhaps approved,
    applied, and how it turned out, with who decided."""

    __tablename__ = "monitor_actions"
    __table_args__ = (
        # The policy's history (the last hour) and the list, pending approval first.
        Index("ix_monitor_actions_proposed_at", "proposed_at"),
        Index("ix_monitor_actions_outcome", "outcome"),
        Index("ix_monitor_actions_incident_id", "incident_id"),
    )

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("monitor_incidents.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(NAME_CHARS))
    fingerprint: Mapped[str] = mapped_column(String(FINGERPRINT_CHARS))
    lever: Mapped[str] = mapped_column(String(NAME_CHARS))
    # levers.schemas.TARGET_PATTERN: at most 64; the value is a worker's host:pid at most.
    target: Mapped[str] = mapped_column(String(NAME_CHARS))
    value: Mapped[str] = mapped_column(String(PROCESS_CHARS))
    outcome: Mapped[str] = mapped_column(String(OUTCOME_CHARS))
    proposed_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    # "monitor" for what it did on its own; the administrator who approved or rejected.
    actor: Mapped[str] = mapped_column(String(NAME_CHARS))
    note: Mapped[str] = mapped_column(Text)
