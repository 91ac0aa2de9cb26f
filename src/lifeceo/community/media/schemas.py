"""Bodies of the media endpoints (the upload itself is multipart/form-data, not JSON), and the
image that posts show."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

MediaStatus = Literal["pending", "ready", "failed"]


class StoredVariant(BaseModel):
    """A rendered variant, as the media row records it."""

    name: str
    content_type: str
    width: int
    height: int
    byte_size: int
    sha256: str
    storage_key: str


class VariantOut(BaseModel):
    content_type: str
    width: int
    height: int
    url: str


class MediaImage(BaseModel):
    """What a post shows of its image. Until `ready` there are no variants and no placeholder;
    `failed` media never get them."""

    id: int
    status: MediaStatus
    # As shown once ready; the stored file's before that.
    width: int
    height: int
    blurhash: str | None
    variants: list[VariantOut]
    # Per content type, the value of a srcset attribute: "URL 320w, URL 800w, URL 1600w".
    srcset: dict[str, str]


class MediaOut(MediaImage):
    # Of the original upload.
    content_type: str
    byte_size: int
    failure_reason: str | None
    # Where the original bytes are served; relative, so it stays right behind any proxy or host.
    url: str
    created_at: datetime
