"""Tables of notifications: one row per thing a user should hear about, and the actions behind it."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base, IdMixin, TimestampMixin

KINDS = ("follow", "like", "comment", "rsvp", "mention")


class Notification(IdMixin, TimestampMixin, Base):
    __tablename__ = "notifications"

    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The latest actor; `actor_count` distinct actors in all (likes and RSVPs are coalesced).
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    actor_count: Mapped[int] = mapped_column(Integer, server_default="1")
    kind: Mapped[str] = mapped_column(String(20))
    # The post, event or user the notification is about; its type follows from kind.
    subject_id: Mapped[int] = mapped_column(BigInteger)
    # When an action last joined the row.
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Drawn afresh from the sequence whenever the row changes: the live stream's event id, so a
    # client resuming with Last-Event-ID also gets the rows updated in place while it was away.
    stream_id: Mapped[int] = mapped_column(BigInteger, Identity())
    read_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS}", name="kind"),
        CheckConstraint("actor_count >= 1", name="actor_count"),
        # The list (latest activity first) and the stream's replay.
        Index("ix_notifications_recipient_stream", "recipient_id", text("stream_id DESC")),
        # The unread count, and the unread row an action may join.
        Index("ix_notifications_recipient_unread", "recipient_id", "kind", "subject_id",
              postgresql_where=text("read_at IS NULL")),
    )


class NotificationAction(TimestampMixin, Base):
    """An action (a like, a follow, a comment, a mention...) that a notification reports, keyed by
    what it was, so that a job run twice, or a like taken back and given again, counts once."""

    __tablename__ = "notification_actions"

    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                              primary_key=True)
    # e.g. "like:{post_id}:{user_id}", "comment:{comment_id}".
    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    __table_args__ = (
        # A notification's latest actors.
        Index("ix_notification_actions_notification_created", "notification_id",
              text("created_at DESC")),
    )
