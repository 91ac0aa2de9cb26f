"""The shapes of /api/v1/admin/monitor."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lifeceo.platform.monitor.incidents import STATES
from lifeceo.platform.monitor.remediation import Outcome

# The words themselves live beside the rules that use them.
IncidentState = Literal[STATES]
ActionOutcome = Literal[tuple(outcome.value for outcome in Outcome)]
PredictionOutcome = Literal["pending", "hit", "miss"]
# A rejection's reason, kept with the action: a sentence, not a report.
MAX_NOTE_CHARS = 500


class Incident(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    fingerprint: str
    detector: str
    label: str
    state: IncidentState
    severity: str
    summary: str
    opened_at: datetime
    last_detected_at: datetime
    # Evaluations that found it, the first included.
    detections: int
    mitigated_at: datetime | None
    resolved_at: datetime | None


class TimelineEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    # detected, severity, state, prediction, action
    kind: str
    detail: dict[str, Any]


class Prediction(BaseModel):
    """The series reaches `limit_value` in about `seconds` after `made_at` (between `earliest`
    and `latest`); `outcome` says whether it did."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int | None
    detector: str
    series: str
    label: str
    made_at: datetime
    limit_value: float
    rising: bool
    seconds: float
    earliest: float
    latest: float
    outcome: PredictionOutcome
    judged_at: datetime | None


class IncidentDetail(Incident):
    # The detector's points and figures, the window's warnings and errors, the statements.
    evidence: dict[str, Any]
    timeline: list[TimelineEntry]
    predictions: list[Prediction]


class DetectorReport(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    inputs: list[str]
    window_seconds: float
    # The leader's last evaluation; None before the first.
    evaluated_at: datetime | None = None
    leader: str | None = None
    duration_ms: float | None = None
    detections: list[dict[str, Any]] = []
    baseline: dict[str, Any] | None = None
    error: str | None = None


class PredictionReport(BaseModel):
    items: list[Prediction]
    judged: int
    hits: int
    pending: int
    # hits / judged; None before any prediction was judged.
    hit_rate: float | None


class MonitorStatus(BaseModel):
    enabled: bool
    # The advanced-monitoring flag is off: nothing is evaluated.
    paused: bool
    interval_seconds: float
    # The process that evaluated last, and when.
    leader: str | None
    last_evaluation_at: datetime | None
    # Whether the answering process holds the leader lock now.
    answering_process_leads: bool
    # The answering process's last evaluation, when it leads.
    last_evaluation_ms: float | None
    detectors: int
    incidents: dict[str, int]
    predictions: dict[str, int]


class MonitorActionReport(BaseModel):
    """One remediation attempt: the lever it pulls (or would), and how it turned out."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int
    action: str
    fingerprint: str
    lever: str
    target: str
    value: str
    outcome: ActionOutcome
    proposed_at: datetime
    applied_at: datetime | None
    settled_at: datetime | None
    # "monitor", or the administrator who approved or rejected it ("user:42", "cli").
    actor: str
    note: str


class ActionRejection(BaseModel):
    note: str = Field(default="", max_length=MAX_NOTE_CHARS)
