"""Request and response bodies of posts, comments and likes."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from lifeceo.community.fields import PartialUpdate, Tags, Text
from lifeceo.community.media.schemas import MediaImage
from lifeceo.platform.http.pagination import RowIdField

PostBody = Text(min_length=1, max_length=5000)
CommentBody = Text(min_length=1, max_length=2000)
Visibility = Literal["public", "followers", "private"]
MediaId = RowIdField


class PostCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: PostBody
    tags: Tags = []
    visibility: Visibility = "public"
    media_id: MediaId | None = None


class PostUpdate(PartialUpdate):
    nullable = frozenset({"media_id"})
    body: PostBody | None = None
    tags: Tags | None = None
    visibility: Visibility | None = None
    # null detaches the media; omitted leaves it as it is.
    media_id: MediaId | None = None


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: CommentBody


class AuthorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    username: str
    display_name: str


class PostFields(BaseModel):
    """What every viewer sees of a post, whoever asks."""

    id: int
    body: str
    tags: list[str]
    visibility: Visibility
    media_id: int | None
    like_count: int
    comment_count: int
    created_at: datetime
    updated_at: datetime | None


class PostOut(PostFields):
    author: AuthorOut
    liked_by_me: bool
    # The attached image (media_id) as shown: srcset-ready variants and a placeholder once ready.
    media: MediaImage | None


class PostEntry(PostFields):
    """What is cached of a post: the same for every viewer; who may see it is decided per read."""

    model_config = ConfigDict(from_attributes=True)
    author_id: int


class CommentOut(BaseModel):
    id: int
    post_id: int
    author: AuthorOut
    body: str
    created_at: datetime


class LikeState(BaseModel):
    liked: bool
    like_count: int
