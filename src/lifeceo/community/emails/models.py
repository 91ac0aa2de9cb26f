"""Tables of email: which event reminders have been sent, so that a rerun does not send again."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base


class EventReminder(Base):
    """One attendee reminded of one start time of an event (its message is queued with it)."""

    __tablename__ = "event_reminders"

    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    # The start time reminded of: attendees of an event moved to another time hear of it again.
    starts_at: Mapped[datetime] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
