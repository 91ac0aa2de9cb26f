"""Tables of users: accounts, their sessions, and who follows whom."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base, IdMixin, TimestampMixin

TANGO_ROLES = ("leader", "follower", "teacher", "dj", "organizer")


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(30))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(80), server_default="")
    bio: Mapped[str] = mapped_column(String(1000), server_default="")
    city: Mapped[str] = mapped_column(String(100), server_default="")
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default="{}")
    groups: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    is_admin: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # Kept exact by the follow service in the same transaction as the follows row.
    followers_count: Mapped[int] = mapped_column(Integer, server_default="0")
    following_count: Mapped[int] = mapped_column(Integer, server_default="0")
    # Full-text search (lifeceo.platform.search). Stored, not an expression index: ranking reads
    # it for every candidate, and computing it took 55 µs each (13 of a search's 17 ms for a
    # common first name). Deferred, and left out of the sessions' identity cache.
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed("lifeceo_users_search_vector(username, display_name, bio, city, roles)",
                           persisted=True), deferred=True)

    __table_args__ = (
        Index("uq_users_username_lower", func.lower(username), unique=True),
        Index("uq_users_email_lower", func.lower(email), unique=True),
        Index("ix_users_search", "search_vector", postgresql_using="gin"),
        # Typo-tolerant and prefix matches of names (pg_trgm); usernames are stored lower-case.
        Index("ix_users_username_trgm", username, postgresql_using="gin",
              postgresql_ops={"username": "gin_trgm_ops"}),
        Index("ix_users_display_name_trgm",
              func.lifeceo_search_fold(display_name).label("display_name_folded"),
              postgresql_using="gin", postgresql_ops={"display_name_folded": "gin_trgm_ops"}),
    )


class AuthSession(IdMixin, TimestampMixin, Base):
    """An opaque login token, stored only as its SHA-256; revoked on logout."""

    __tablename__ = "auth_sessions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Follow(Base):
    __tablename__ = "follows"

    follower_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    followee_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("follower_id <> followee_id", name="not_self"),
        # followers of X, newest first; following of X is served by the primary key.
        Index("ix_follows_followee_created", "followee_id", "created_at", "follower_id"),
        Index("ix_follows_follower_created", "follower_id", "created_at", "followee_id"),
    )
