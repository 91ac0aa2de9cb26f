"""Request and response bodies of posts, comments and likes."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lifeceo.community.fields import Tags, Text
from lifeceo.platform.http.pagination import MAX_ROW_ID

PostBody = Text(min_length=1, max_length=5000)
CommentBody = Text(min_length=1, max_length=2000)
Visibility = Literal["public", "followers", "private"]
MediaId = Annotated[int, Field(strict=True, ge=1, le=MAX_ROW_ID)]


class PostCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: PostBody
    tags: Tags = []
    visibility: Visibility = "public"
    media_id: MediaId | None = None


class PostUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: PostBody | None = None
    tags: Tags | None = None
    visibility: Visibility | None = None
    # null detaches the media; omitted leaves it as it is.
    media_id: MediaId | None = None

    @field_validator("body", "tags", "visibility", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("omit the field to keep it; it cannot be null")
        return value


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: CommentBody


class AuthorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    username: str
    display_name: str


class PostOut(BaseModel):
    id: int
    author: AuthorOut
    body: str
    tags: list[str]
    visibility: Visibility
    media_id: int | None
    like_count: int
    comment_count: int
    liked_by_me: bool
    created_at: datetime
    updated_at: datetime | None


class CommentOut(BaseModel):
    id: int
    post_id: int
    author: AuthorOut
    body: str
    created_at: datetime


class LikeState(BaseModel):
    liked: bool
    like_count: int
