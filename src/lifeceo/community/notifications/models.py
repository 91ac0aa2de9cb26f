"""Tables of notifications: one row per thing a user should hear about."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base, IdMixin, TimestampMixin

KINDS = ("follow", "like", "comment", "rsvp")


class Notification(IdMixin, TimestampMixin, Base):
    __tablename__ = "notifications"

    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    # The post, comment, event or user the notification is about; its type follows from kind.
    subject_id: Mapped[int] = mapped_column(BigInteger)
    read_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_notifications_recipient_created", "recipient_id", text("created_at DESC"),
              text("id DESC")),
        Index("ix_notifications_recipient_unread", "recipient_id",
              postgresql_where=text("read_at IS NULL")),
    )
