"""Tables of media: uploaded images, the bytes kept by a storage backend, and the variants the
image-processing job renders from them."""

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base, IdMixin, TimestampMixin

# pending: stored, waiting for the job; ready: variants served; failed: failure_reason says why.
MEDIA_STATUSES = ("pending", "ready", "failed")


class Media(IdMixin, TimestampMixin, Base):
    __tablename__ = "media"

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Of the original, sniffed from the bytes, never taken from the client's header.
    content_type: Mapped[str] = mapped_column(String(40))
    byte_size: Mapped[int] = mapped_column(Integer)
    # The stored file's, read from its header at upload; as shown (EXIF orientation applied)
    # once processed.
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    blurhash: Mapped[str | None] = mapped_column(String(100))
    # One StoredVariant (schemas) per format and width; replaced whole by each processing run.
    variants: Mapped[list[dict]] = mapped_column(JSONB, server_default="[]")

    __table_args__ = (CheckConstraint(f"status IN {MEDIA_STATUSES}", name="status"),)
