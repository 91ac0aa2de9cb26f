"""Conventions of query parameters shared by the admin endpoints."""

from datetime import UTC, datetime


def assume_utc(moment: datetime | None) -> datetime | None:
    """A time without a zone is taken as UTC (the parameters say so)."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
