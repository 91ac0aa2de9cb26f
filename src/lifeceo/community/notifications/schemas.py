"""Bodies of the notification endpoints."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from lifeceo.platform.http.pagination import RowIdField


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    actor: str
    subject_id: int
    created_at: datetime
    read_at: datetime | None


class MarkRead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Omitted: mark every unread notification read.
    ids: Annotated[list[RowIdField], Field(max_length=100)] | None = None


class MarkedRead(BaseModel):
    marked: int
    unread: int
