"""Bodies of the notification endpoints and of the live stream's events."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from lifeceo.platform.http.pagination import RowIdField


class NotificationOut(BaseModel):
    id: int
    kind: str
    # The latest actor; `actors` are the latest few, newest first, of `actor_count` in all.
    actor: str
    actors: list[str]
    actor_count: int
    # What a client shows: "@ana and 9 others liked your post".
    summary: str
    subject_id: int
    created_at: datetime
    # When the latest actor joined.
    updated_at: datetime
    read_at: datetime | None


class MarkRead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Omitted: mark every unread notification read.
    ids: Annotated[list[RowIdField], Field(max_length=100)] | None = None


class MarkedRead(BaseModel):
    marked: int
    unread: int
