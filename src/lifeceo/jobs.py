"""Every job handler module, imported once so that the job registry is complete (workers, inline
mode), like lifeceo.models does for tables: add one import line per handler module."""

from lifeceo.community.analytics import tasks as analytics_tasks  # noqa: F401
from lifeceo.community.emails import tasks as emails_tasks  # noqa: F401
from lifeceo.community.feed import tasks as feed_tasks  # noqa: F401
from lifeceo.community.maintenance import tasks as maintenance_tasks  # noqa: F401
from lifeceo.community.media import tasks as media_tasks  # noqa: F401
from lifeceo.community.notifications import tasks as notifications_tasks  # noqa: F401
from lifeceo.community.search import tasks as search_tasks  # noqa: F401
from lifeceo.platform.monitor import tasks as monitor_tasks  # noqa: F401
from lifeceo.platform.observability import history_tasks  # noqa: F401
from lifeceo.platform.observability import logs_tasks as log_tasks  # noqa: F401
from lifeceo.platform.queue import maintenance as queue_maintenance  # noqa: F401
from lifeceo.platform.queue import schedule

# Periodic jobs, cron read in LIFECEO_JOBS_TIMEZONE. A job here whose handler module is not
# imported above is reported when a worker starts, and not run.
schedule("warm-cache", cron="*/5 * * * *")
schedule("prune-jobs", cron="17 * * * *")
schedule("cleanup-old-data", cron="0 3 * * *")
schedule("calculate-trending", cron="0 * * * *")
schedule("analytics-aggregate", cron="5 * * * *")
# Words reach did-you-mean and suggestions with the write's commit; folding their changes each
# minute keeps the pending changes that every correction also reads to a minute of writes.
schedule("refresh-search-terms", cron="* * * * *")
# Metrics history: each minute's 1 min and 1 h rollups (a chart of the last hour is at most a
# minute behind); expiry hourly, a small delete each time.
schedule("metrics-rollup", cron="* * * * *")
schedule("metrics-expire", cron="41 * * * *")
# Shipped log records: every 5 minutes, so that a flood past the row cap is cut back soon.
schedule("logs-expire", cron="*/5 * * * *")
# The monitor's resolved incidents and settled actions past their retention: days, so daily.
schedule("monitor-expire", cron="53 3 * * *")
