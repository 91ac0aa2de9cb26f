"""Per-process counts of the browsers' timing beacons (RUM), which the metrics history sampler
turns into a delta every interval, as it does the request window: one latency histogram per
vital, so that the leader's p75 is the p75 of every process's beacons, not a mean of p75s."""

from lifeceo.platform.observability.histogram import bucket_of, new_buckets

# The timings of a beacon the history keeps. CLS is a fraction of the viewport, not a time, and
# the page's load time is not a Core Web Vital: both stay in the per-page report only.
VITALS = ("lcp", "inp", "ttfb")

# Per vital: cumulative (beacons that reported it, histogram), copied at each flush.
Totals = dict[str, tuple[int, list[int]]]


class RumWindow:
    """One per process (`default_rum_window()`); tests make several to stand for several."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(VITALS, 0)
        self.buckets = {vital: new_buckets() for vital in VITALS}

    def observe(self, *, lcp_ms: float | None = None, inp_ms: float | None = None,
                ttfb_ms: float | None = None) -> None:
        """Count one accepted beacon's vitals; those the browser did not measure are None."""
        for vital, ms in (("lcp", lcp_ms), ("inp", inp_ms), ("ttfb", ttfb_ms)):
            if ms is not None:
                self.counts[vital] += 1
                self.buckets[vital][bucket_of(ms / 1000)] += 1

    def totals(self) -> Totals:
        return {vital: (self.counts[vital], self.buckets[vital].copy()) for vital in VITALS}


def rum_delta(before: Totals, after: Totals) -> dict[str, dict[str, object]]:
    """Per vital with beacons in between: their count and sparse histogram {bucket: count}."""
    out: dict[str, dict[str, object]] = {}
    for vital, (count, buckets) in after.items():
        old_count, old_buckets = before.get(vital, (0, None))
        if count == old_count:
            continue
        if old_buckets is None:
            hist = {str(i): n for i, n in enumerate(buckets) if n}
        else:
            hist = {str(i): n - o for i, (n, o) in enumerate(zip(buckets, old_buckets)) if n != o}
        out[vital] = {"beacons": count - old_count, "hist": hist}
    return out


_default = RumWindow()


def default_rum_window() -> RumWindow:
    """This process's window, the one observe_beacon counts into."""
    return _default


def observe_beacon(*, lcp_ms: float | None = None, inp_ms: float | None = None,
                   ttfb_ms: float | None = None) -> None:
    """Count one accepted beacon; the analytics endpoint's service calls it."""
    _default.observe(lcp_ms=lcp_ms, inp_ms=inp_ms, ttfb_ms=ttfb_ms)
