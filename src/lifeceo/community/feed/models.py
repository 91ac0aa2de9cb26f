"""Tables of the feeds: the trending ranking, as the calculate-trending job last computed it."""

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base


class TrendingPost(Base):
    """One place of the ranking; the job replaces every row in one transaction, so a reader sees
    one whole ranking, on any worker, whatever its cache holds."""

    __tablename__ = "trending_posts"

    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # A deleted post leaves the ranking with it.
    post_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("posts.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime]
