"""Every table, imported once so that Base.metadata is complete (Alembic, tests)."""

from lifeceo.community.analytics import models as analytics_models  # noqa: F401
from lifeceo.community.emails import models as emails_models  # noqa: F401
from lifeceo.community.events import models as events_models  # noqa: F401
from lifeceo.community.feed import models as feed_models  # noqa: F401
from lifeceo.community.media import models as media_models  # noqa: F401
from lifeceo.community.notifications import models as notifications_models  # noqa: F401
from lifeceo.community.posts import models as posts_models  # noqa: F401
from lifeceo.community.users import models as users_models  # noqa: F401
from lifeceo.platform.db.base import Base
from lifeceo.platform.flags import models as flags_models  # noqa: F401
from lifeceo.platform.monitor import models as monitor_models  # noqa: F401
from lifeceo.platform.observability import history_models  # noqa: F401
from lifeceo.platform.observability import logs_models as log_models  # noqa: F401
from lifeceo.platform.queue import models as queue_models  # noqa: F401
from lifeceo.platform.search import models as search_models  # noqa: F401

__all__ = ["Base"]
