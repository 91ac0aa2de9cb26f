"""Tables of events and RSVPs."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base, IdMixin, TimestampMixin

RSVP_STATUSES = ("going", "interested")


class Event(IdMixin, TimestampMixin, Base):
    __tablename__ = "events"

    organizer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    city: Mapped[str] = mapped_column(String(100))
    venue: Mapped[str] = mapped_column(String(200), server_default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # IANA zone of the venue (e.g. America/Argentina/Buenos_Aires), for showing local times.
    timezone: Mapped[str] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default="0")
    # None: no limit on the number of people going.
    capacity: Mapped[int | None] = mapped_column(Integer)
    going_count: Mapped[int] = mapped_column(Integer, server_default="0")
    interested_count: Mapped[int] = mapped_column(Integer, server_default="0")
    cancelled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    # Full-text search (lifeceo.platform.search), computed by PostgreSQL as the row is written.
    search_language: Mapped[str] = mapped_column(
        String(6), Computed("lifeceo_search_language(title || ' ' || description)", persisted=True))
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed("lifeceo_events_search_vector(title, description, city, venue, tags)",
                           persisted=True), deferred=True)

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("capacity IS NULL OR going_count <= capacity", name="within_capacity"),
        CheckConstraint("cardinality(tags) <= 10", name="tag_count"),
        Index("ix_events_starts", "starts_at", "id"),
        Index("ix_events_city_starts", func.lower(text("city")), "starts_at", "id"),
        Index("ix_events_search", "search_vector", postgresql_using="gin"),
        # Typo-tolerant title matches (pg_trgm).
        Index("ix_events_title_trgm", func.lifeceo_search_fold(title).label("title_folded"),
              postgresql_using="gin", postgresql_ops={"title_folded": "gin_trgm_ops"}),
    )


class Rsvp(Base):
    __tablename__ = "rsvps"

    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"status IN {RSVP_STATUSES}", name="status"),
        # The attendee list: one event's going (or interested) people in the order they joined.
        Index("ix_rsvps_event_status_created", "event_id", "status", "created_at", "user_id"),
    )
