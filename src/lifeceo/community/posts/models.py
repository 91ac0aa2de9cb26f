"""Tables of posts, their comments and likes."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base, IdMixin, TimestampMixin

VISIBILITIES = ("public", "followers", "private")


class Post(IdMixin, TimestampMixin, Base):
    __tablename__ = "posts"

    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    visibility: Mapped[str] = mapped_column(String(10), server_default="public")
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))
    # Kept exact by relative updates in the same transaction as the like or comment row.
    like_count: Mapped[int] = mapped_column(Integer, server_default="0")
    comment_count: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_at: Mapped[datetime | None]
    # Full-text search (lifeceo.platform.search): the language the body is analysed in, and the
    # weighted document, which includes the author's name and so is written by the trigger
    # posts_search_document (migration 0003), in the transaction that writes the row.
    search_language: Mapped[str] = mapped_column(
        String(6), Computed("lifeceo_search_language(body)", persisted=True))
    search_vector: Mapped[str | None] = mapped_column(TSVECTOR, deferred=True)

    __table_args__ = (
        CheckConstraint("char_length(body) <= 5000", name="body_length"),
        CheckConstraint("cardinality(tags) <= 10", name="tag_count"),
        CheckConstraint(f"visibility IN {VISIBILITIES}", name="visibility"),
        # Timelines and the home feed: one author's posts, newest first.
        Index("ix_posts_author_created", "author_id", text("created_at DESC"), text("id DESC")),
        # The public feed.
        Index("ix_posts_public_created", text("created_at DESC"), text("id DESC"),
              postgresql_where=text("visibility = 'public'")),
        # Deleting a media row (SET NULL here) and finding orphaned media look posts up by it.
        Index("ix_posts_media", "media_id", postgresql_where=text("media_id IS NOT NULL")),
        Index("ix_posts_search", "search_vector", postgresql_using="gin"),
    )


class Comment(IdMixin, TimestampMixin, Base):
    __tablename__ = "comments"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("char_length(body) <= 2000", name="body_length"),
        Index("ix_comments_post_created", "post_id", "created_at", "id"),
    )


class Like(Base):
    __tablename__ = "likes"

    post_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
