"""Bodies of the analytics endpoints: browser timing beacons in, hourly counts and per-page
percentiles out."""

import re
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

EventKind = Literal["signup", "post_viewed", "search", "like", "exposure"]
# What a browser sends: an absolute URL or a path, query and fragment included.
MAX_URL_CHARS = 2048
# Past this a path is not one of ours: each distinct path is a row of the report.
MAX_PATH_CHARS = 200
# A path segment that is a row id: "/posts/123" and "/posts/456" are one page, "/posts/{id}".
_ID_SEGMENT = re.compile(r"^[0-9]{1,18}$")
_UNPRINTABLE = re.compile(r"[\x00-\x20\x7f]")
# A timing past 5 minutes is a tab left in the background, not a page load.
MAX_TIMING_MS = 300_000
# Layout shift is a sum of fractions of the viewport; a real page stays far below 10.
MAX_CLS = 10.0


def page_path(url: str) -> str:
    """The page a beacon is about: the URL's path, without query and fragment (which would
    split one page into thousands and may carry personal data), ids folded."""
    if _UNPRINTABLE.search(url):
        raise ValueError("the url must not contain spaces or control characters")
    path = urlsplit(url).path or "/"
    if not path.startswith("/"):
        raise ValueError("the url must be absolute or a path starting with '/'")
    path = "/".join("{id}" if _ID_SEGMENT.match(segment) else segment
                    for segment in path.split("/"))
    if len(path) > MAX_PATH_CHARS:
        raise ValueError(f"the url's path must be at most {MAX_PATH_CHARS} characters")
    return path


TimingMs = Annotated[float, Field(strict=True, ge=0, le=MAX_TIMING_MS)]


class RumBeacon(BaseModel):
    """Core Web Vitals and load timings of one page view, as `navigator.sendBeacon` posts them.
    Every metric is optional (a browser reports what it measured), but at least one is given."""

    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_CHARS),
                   AfterValidator(page_path)]
    lcp_ms: TimingMs | None = None
    inp_ms: TimingMs | None = None
    cls: Annotated[float, Field(strict=True, ge=0, le=MAX_CLS)] | None = None
    ttfb_ms: TimingMs | None = None
    load_ms: TimingMs | None = None

    @model_validator(mode="after")
    def _some_metric(self) -> "RumBeacon":
        if all(getattr(self, name) is None for name in RUM_METRICS):
            raise ValueError(f"a beacon reports at least one of {', '.join(RUM_METRICS)}")
        return self


RUM_METRICS = ("lcp_ms", "inp_ms", "cls", "ttfb_ms", "load_ms")


class Accepted(BaseModel):
    accepted: bool = True


class HourlyCount(BaseModel):
    hour: datetime
    kind: EventKind
    count: int


class HourlyCounts(BaseModel):
    since: datetime
    until: datetime
    items: list[HourlyCount]


class Percentiles(BaseModel):
    """Of one metric on one page; the percentiles are null below the minimum sample count."""

    samples: int
    p50: float | None
    p75: float | None
    p95: float | None


class PagePerformance(BaseModel):
    path: str
    samples: int
    lcp_ms: Percentiles
    inp_ms: Percentiles
    cls: Percentiles
    ttfb_ms: Percentiles
    load_ms: Percentiles


class PerformanceReport(BaseModel):
    since: datetime
    min_samples: int
    pages: list[PagePerformance]
