"""The shape of GET /admin/statements."""

from pydantic import BaseModel


class Statement(BaseModel):
    query_id: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    max_ms: float
    rows: int
    hit_ratio: float | None


class StatementsReport(BaseModel):
    """Since the server last reset its counters, every process and node together; `available`
    is false, with the `reason`, where the server does not keep them."""

    available: bool
    reason: str | None
    items: list[Statement]
