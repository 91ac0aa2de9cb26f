"""Request and response bodies of posts, comments and likes."""

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from lifeceo.platform.http.pagination import MAX_ROW_ID

TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_TAGS = 10


def _normalised_tag(tag: str) -> str:
    tag = tag.strip().lower()
    if not TAG_PATTERN.fullmatch(tag):
        raise ValueError("a tag is 1-40 of a-z, 0-9, '_' and '-', starting with a letter or digit")
    return tag


def _distinct(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _without_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL; rejecting it here keeps it a 422 instead of a 500.
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return text


Tag = Annotated[str, Field(max_length=100), AfterValidator(_normalised_tag)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_distinct)]
PostBody = Annotated[str, Field(min_length=1, max_length=5000), AfterValidator(_without_nul)]
CommentBody = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_without_nul)]
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
