"""Flag definitions and the audit log of every change to them."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    Numeric,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base, IdMixin

KEY_LENGTH = 64
GROUP_LENGTH = 40


class FeatureFlag(Base):
    """One flag. `version` grows with every change: the optimistic-concurrency token."""

    __tablename__ = "feature_flags"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    description: Mapped[str] = mapped_column(String(500), server_default="")
    enabled: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # The kill switch: off for everyone, whatever the rest says, until cleared.
    killed: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # Two decimals: 12.34 % admits exactly the 1,234 lowest of 10,000 buckets.
    rollout_percentage: Mapped[Decimal] = mapped_column(Numeric(5, 2), server_default="100")
    groups: Mapped[list[str]] = mapped_column(ARRAY(String(GROUP_LENGTH)), server_default="{}")
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    depends_on: Mapped[list[str]] = mapped_column(ARRAY(String(KEY_LENGTH)), server_default="{}")
    # Client-visible flags are evaluated for the caller by GET /api/v1/flags; internal ones not.
    client_visible: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # [{"name": "control", "weight": 50}, ...]: A/B variants of an enabled flag.
    variants: Mapped[list[dict]] = mapped_column(JSONB, server_default="[]")
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("rollout_percentage BETWEEN 0 AND 100", name="rollout_range"),
    )


class FlagAudit(IdMixin, Base):
    """Who changed which flag when, and the whole definition before and after."""

    __tablename__ = "feature_flag_audit"

    flag_key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    # An administrator's user id, or "cli", or "system" for the seeded defaults.
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    changed_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        Index("ix_feature_flag_audit_flag_key_id", "flag_key", "id"),
    )

