"""Detectors over what the browsers measured (the RUM series of the metrics history): the pages
got slower for the people using them, whatever the server's own latency says."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from lifeceo.platform.monitor import changepoint
from lifeceo.platform.monitor.detectors import (
    ALL,
    MIN_STEP_REFERENCE,
    Detection,
    LearnsNormal,
    evidence,
    ms,
    normal_bound,
    span,
    weighted,
)
from lifeceo.platform.monitor.signals import Signals


@dataclass(kw_only=True)
class ClientPerformanceRegression(LearnsNormal):
    """The p75 of LCP or INP over the window above both its "good" threshold and its own normal
    (learned from the points before the window, so that a regression under way stays out of
    it), with enough beacons in the window. A site that was always this slow has that as its
    normal: that is the per-page report's business, not an incident's."""

    # Per vital: (series, the "good" threshold in seconds).
    vitals: dict[str, tuple[str, float]]
    factor: float
    min_beacons: int
    name: str = "client_performance_regression"

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(series for series, _ in self.vitals.values())

    @property
    def learns(self) -> tuple[str, ...]:
        return self.inputs

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        for vital, (series, good_seconds) in self.vitals.items():
            points = signals.points(series, ALL, within=self.window)
            recent, earlier = self.split(signals, points)
            # The beacon-weighted mean of the intervals' p75s: the window's own p75 would need
            # the histograms, which the evaluation does not read.
            p75, beacons = weighted(recent)
            normal = self.normal(signals, series, ALL, earlier)
            if beacons < self.min_beacons or normal is None:
                continue
            bound = normal_bound(normal, floor=good_seconds, factor=self.factor)
            if p75 <= bound:
                continue
            found.append(Detection(
                self.name, vital, "warning",
                f"p75 {vital.upper()} at {ms(p75)} over {span(self.window_length)} "
                f"({beacons} beacons), normally {ms(normal.median)} (bound {ms(bound)})",
                {"series": series, "points": evidence(points), "p75": p75, "beacons": beacons,
                 "bound": bound, "good": good_seconds,
                 "baseline": normal.described(),
                 **_step([*earlier, *(point for point in recent if point.samples)],
                         reference=len(earlier))}))
        return found


def _step(points: list, *, reference: int) -> dict[str, Any]:
    """The step in the series, if there is one ("LCP rose after 14:02"): its first point and the
    medians either side; the points before the window set the scale."""
    values = [point.value for point in points]
    found = reference >= MIN_STEP_REFERENCE and changepoint.page_hinkley(values,
                                                                         reference=reference)
    if not found:
        return {}
    after = float(np.median(values[found.onset:]))
    return {"step": {"onset": points[found.onset].ts.isoformat(), "direction": found.direction,
                     "before": found.before, "after": after,
                     "ratio": after / found.before if found.before else None}}
