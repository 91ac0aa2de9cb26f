"""The series endpoint's answer."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from lifeceo.platform.observability.history_series import SERIES

SeriesName = Literal[tuple(SERIES)]  # type: ignore[valid-type]


class SeriesPoint(BaseModel):
    # Start of the step the point covers.
    ts: datetime
    # The mean over the step (of rollup values when read from a rollup).
    value: float
    # The largest raw value within the step.
    max: float
    # Observations behind the value: requests, cache lookups or process readings.
    samples: int


class LabelSeries(BaseModel):
    label: str
    points: list[SeriesPoint]


class SeriesReport(BaseModel):
    name: str
    kind: str
    unit: str
    label_name: str
    description: str
    start: datetime
    end: datetime
    # Where the points come from: the sampler's interval (raw), 60 or 3600.
    resolution_seconds: float
    step_seconds: int
    series: list[LabelSeries]
