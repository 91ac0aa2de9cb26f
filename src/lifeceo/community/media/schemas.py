"""Bodies of the media endpoints (the upload itself is multipart/form-data, not JSON)."""

from datetime import datetime

from pydantic import BaseModel


class MediaOut(BaseModel):
    id: int
    content_type: str
    byte_size: int
    width: int
    height: int
    # Where the bytes are served; relative, so it stays right behind any proxy or host name.
    url: str
    created_at: datetime
