"""The one configuration object: every setting comes from a LIFECEO_* environment variable."""

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIFECEO_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    # Where the embedded PostgreSQL cluster, the generated secret key and uploaded media live.
    data_dir: Path = Path(".lifeceo")

    # Unset: an embedded PostgreSQL is started in data_dir/pgdata. Set in production.
    database_url: str | None = None
    # PgBouncer in transaction mode cannot keep server-side prepared statements across
    # transactions, so psycopg must not prepare them.
    database_pgbouncer: bool = False
    # Two workers x (10 + 10) stays well under PostgreSQL's default max_connections of 100.
    database_pool_size: int = 10
    database_pool_overflow: int = 10
    database_pool_timeout_seconds: float = 10.0
    # A runaway query must not hold a pooled connection for ever.
    database_statement_timeout_ms: int = 30_000
    # LISTEN (cache invalidation, live notifications) holds a session, which PgBouncer in
    # transaction mode cannot give: point this at PostgreSQL itself. Unset: database_url.
    database_listen_url: str | None = None
    redis_url: str | None = None
    secret_key: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    # Proxies (Varnish, a load balancer) whose X-Forwarded-For/-Proto are believed; comma-separated.
    forwarded_allow_ips: str = "127.0.0.1"
    # A worker that does not answer the supervisor's ping within this is killed and replaced.
    worker_healthcheck_timeout_seconds: float = 5.0
    # A new worker (SIGHUP) gets this long to import the application and start serving before the
    # restart is abandoned. Replacements were ready after 4.7 s on a lightly loaded 2-core machine,
    # 6.3-7.0 s under request load, and 15.7, 23.6 and 31.3 s with the load average at 10-13:
    # twice the worst.
    # (The healthcheck timeout above, 5 s, is for pings of running workers, not for this.)
    worker_ready_timeout_seconds: float = 60.0
    # In-flight requests get this long to finish on shutdown or reload.
    graceful_shutdown_seconds: float = 20.0
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    # JSON bodies are small: the largest valid one (a 5,000-character post with 10 tags) is
    # under 25 KB even in 4-byte UTF-8.
    max_body_bytes: int = 64 * 1024
    # Phone photos are 2-8 MB; 10 MB leaves room without inviting abuse.
    max_upload_bytes: int = 10 * 1024 * 1024
    # An oversized body is read and dropped up to this size, for up to this long, before its 413
    # goes out, else the client is reset before it reads the answer. 32 MiB covers a 48 MP
    # phone photo (15-25 MB) sent to the 10 MiB upload limit, at 25 Mbit/s in about 10 s;
    # past either bound the connection is closed at once.
    max_body_drain_bytes: int = 32 * 1024 * 1024
    max_body_drain_seconds: float = 10.0
    # Pixel count bounds decoding memory (decompression bombs): 40 MP is a modern phone camera.
    max_image_pixels: int = 40_000_000
    page_size_default: int = 20
    # argon2id cost (RFC 9106 low-memory profile); the test suite lowers it to stay fast.
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 64 * 1024
    # Sessions are revocable and stored hashed; a month matches what community sites use.
    session_ttl_seconds: int = 30 * 24 * 3600

    # Cache (lifeceo.platform.cache). Off: every read goes to PostgreSQL (the bench's baseline).
    cache_enabled: bool = True
    # L1 is per process, and its bytes are the memory its entries really occupy (keys, values,
    # tags, index). A worker is about 145 MB before caching; filled with feed pages to 32 MiB it
    # measured 178 MB, under a 200 MB budget per worker (64 MiB measured 212 MB). 20,000 small
    # entries (posts, profiles: about 700 bytes each) take 14 MB.
    cache_l1_max_entries: int = 20_000
    cache_l1_max_bytes: int = 32 * 1024 * 1024
    # A Redis round trip on loopback or a LAN is well under 1 ms; past this, serve from L1.
    cache_redis_timeout_ms: int = 50
    # Consecutive Redis failures that open the circuit, and the first half-open probe delay
    # (doubling up to the maximum while Redis stays down).
    cache_breaker_failures: int = 3
    cache_breaker_probe_seconds: float = 0.5
    cache_breaker_probe_max_seconds: float = 5.0
    # Below this many lookups in a window no hit ratio is reported: 0 of 0 is not 0 %.
    cache_stats_min_samples: int = 100

    # Rate limits (lifeceo.platform.ratelimit), in the `limits` notation; numbers from the
    # platform this project re-implements.
    ratelimit_enabled: bool = True
    # Processes counting rate limits in the whole deployment (every node's web workers). While
    # Redis is down each counts alone and gets 1/this of the auth, registration and password-reset
    # quotas, so that together they admit no more than the quota. Unset: this node's workers.
    ratelimit_processes: int | None = Field(default=None, ge=1)
    ratelimit_auth: str = "5/15minutes"
    ratelimit_registration: str = "3/hour"
    ratelimit_password_reset: str = "3/hour"
    ratelimit_uploads: str = "10/15minutes"
    ratelimit_content: str = "100/minute"
    ratelimit_api: str = "100/minute"
    ratelimit_events: str = "10/day"
    ratelimit_follows: str = "20/hour"
    # Browser timing beacons (POST /rum): one per page view and route change is far below this.
    ratelimit_rum: str = "60/minute"

    # HTTP: responses smaller than this are not worth the CPU of compressing (one TCP segment).
    compress_min_bytes: int = 1400
    # Anonymous public reads may be cached by Varnish and browsers this long, and served stale
    # this much longer while revalidating or while the backend is failing.
    http_public_max_age_seconds: int = 10
    http_stale_while_revalidate_seconds: int = 30
    http_stale_if_error_seconds: int = 86_400
    # Varnish instances to purge by surrogate key after writes (comma-separated http URLs).
    varnish_purge_urls: str = ""
    # Strict-Transport-Security on responses to HTTPS requests (directly, or from a proxy in
    # forwarded_allow_ips): a year, the least the browsers' preload lists accept. Without
    # includeSubDomains: other hosts of the domain may not serve HTTPS. 0 tells browsers to forget.
    http_hsts_max_age_seconds: int = Field(default=31_536_000, ge=0)

    # Job queues (lifeceo.platform.queue). Inline: `enqueue` runs the job in the enqueuing
    # process right after its transaction commits, no worker, no retries (the test default, and
    # the mode the `bullmq-jobs` flag is to select while it is off).
    jobs_inline: bool = False
    # The periodic jobs' cron expressions ("0 3 * * *") are read in this time zone.
    jobs_timezone: ZoneInfo = ZoneInfo("UTC")
    # Jobs running at once per queue in one worker process: the original platform's numbers;
    # it gave performance-metrics none, and beacons are as light as analytics events.
    jobs_concurrency: dict[str, int] = {
        "email": 5, "image-processing": 3, "analytics": 3, "notifications": 10,
        "data-sync": 5, "performance-metrics": 3}
    # A run longer than this fails and is retried by its queue's policy. Generous: an SMTP relay
    # may take 30 s to greet, a 12-megapixel image takes under 2 s, data-sync scans tables.
    jobs_timeout_seconds: dict[str, float] = {
        "email": 120.0, "image-processing": 60.0, "analytics": 60.0, "notifications": 60.0,
        "data-sync": 600.0, "performance-metrics": 60.0}
    # Workers beat this often; one silent for jobs_stalled_after_seconds is taken for dead and its
    # running jobs run again (procrastinate's defaults: 10 s and 30 s).
    jobs_heartbeat_seconds: float = 10.0
    jobs_stalled_after_seconds: float = 30.0
    # On SIGTERM running jobs get this long to finish, then go back to the queue. Under the
    # 30 s that Kubernetes and systemd-style supervisors wait before SIGKILL.
    jobs_shutdown_grace_seconds: float = 25.0
    # While PostgreSQL is unreachable a worker process waits, probing it this often, and resumes
    # when it answers: a jobs backlog then starts within a second of the database's return.
    jobs_reconnect_seconds: float = 1.0
    # Readiness warns when a queue's oldest due job has waited longer than this: an idle worker
    # starts a job within milliseconds, so minutes mean no worker or a backlog.
    jobs_max_wait_seconds: float = 300.0
    # Finished jobs stay this long for the queue statistics; dead letters until purged, or this
    # long (REFERENCE.md: failed analytics jobs were kept 7 days).
    jobs_keep_finished_hours: int = 24
    jobs_keep_dead_days: int = 7
    # `lifeceo serve` runs one worker process for every queue; turn off when `lifeceo worker`
    # nodes run the queues.
    jobs_worker_in_serve: bool = True
    # Bounds of the queue lever (lifeceo.platform.levers): a queue's concurrency may be set
    # between them at runtime. A queue's procrastinate worker fetches a job only once its gate
    # has a slot at the current concurrency, so the maximum bounds how many jobs a worker process
    # runs per queue; 20 is twice the largest default (notifications, 10).
    jobs_concurrency_min: int = Field(default=1, ge=1)
    jobs_concurrency_max: int = Field(default=20, ge=1)

    # Runtime levers (lifeceo.platform.levers, /api/v1/admin/levers). A lever expires by itself
    # after at most this long: an hour outlasts an incident's mitigation, not a forgotten one.
    levers_max_seconds: int = Field(default=3600, ge=1, le=86_400)
    # GET waits this long for every process's state: NOTIFY and Redis pub/sub answer in a few
    # ms on a LAN, so a process silent for 300 ms is busy or gone.
    levers_report_wait_ms: int = Field(default=300, ge=10, le=5000)
    # Clients whose rate limit may be tightened at once: each one's state travels in every
    # report, which must fit PostgreSQL's 8,000-byte NOTIFY (~100 bytes each).
    levers_max_tightened_clients: int = Field(default=32, ge=1, le=50)
    # The expensive route classes the adaptive concurrency limit measures, named as the
    # monitor's series name them (observability.window.route_class): search ranks the whole
    # corpus, feed pages join follows and posts.
    levers_concurrency_route_classes: list[str] = ["search", "feed"]
    # Gradient2's starting point and bounds: 20 concurrent requests are Netflix's starting limit
    # and twice this machine's database pool (10) for a class of its own; never below 4, so a
    # latency spike cannot shut a class out; 200 is past anything two cores serve at once.
    levers_concurrency_initial_limit: int = Field(default=20, ge=1)
    levers_concurrency_min_limit: int = Field(default=4, ge=1)
    levers_concurrency_max_limit: int = Field(default=200, ge=1)
    # A shed request is retried after this: the limit adapts within tens of requests, i.e. well
    # under a second at the rates that make it shed.
    levers_concurrency_retry_after_seconds: int = Field(default=1, ge=1)

    # Fault injection (lifeceo.platform.chaos, /api/v1/admin/chaos). Off unless asked for: a
    # fault is a real outage of the process it reaches, and the routes do not exist without it.
    chaos_enabled: bool = False
    # With env=production chaos stays off unless this is set too: one setting copied from a
    # staging environment must not be enough to break production.
    chaos_allow_in_production: bool = False
    # A fault expires by itself after at most this long: 10 minutes outlast a detection and a
    # mitigation (the scorecard's targets are 15 s and 60 s), not a forgotten experiment.
    chaos_max_seconds: int = Field(default=600, ge=1, le=86_400)
    # GET waits this long for every process's state, as the levers' report does.
    chaos_report_wait_ms: int = Field(default=300, ge=10, le=5000)

    # Mail (lifeceo.platform.mail). No SMTP host: messages are written as .eml files to
    # data_dir/outbox instead, so that development needs no mail server.
    mail_smtp_host: str | None = None
    # 587 is the submission port, where servers expect STARTTLS; "tls" means implicit TLS (465).
    mail_smtp_port: int = 587
    mail_smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    mail_smtp_username: str | None = None
    mail_smtp_password: SecretStr | None = None
    mail_from: str = "lifeceo <noreply@localhost>"
    # Relays may delay their greeting by several seconds to deter spam bots; past this the job
    # fails and is retried with backoff instead of holding a worker slot.
    mail_smtp_timeout_seconds: float = 30.0

    # Analytics (lifeceo.community.analytics). Tracked events wait in a per-process buffer and
    # are written by one track-events job per flush: every second, or sooner once this many are
    # waiting. A hard crash loses at most that second; past the bound (the database is down)
    # new events are dropped rather than grow the process without limit.
    analytics_flush_interval_seconds: float = 1.0
    analytics_flush_events: int = 500
    analytics_buffer_max_events: int = 10_000
    # Read notifications, raw analytics and browser timings, and media no post shows, are
    # deleted this long after they were created (REFERENCE.md: 90 days); hourly counts stay.
    retention_days: int = 90
    # A beacon is its URL (at most 2,048 characters) and under 200 bytes of timings.
    rum_max_body_bytes: int = 4096
    # Percentiles of fewer samples than this are not reported: p95 of 3 loads is noise.
    rum_min_samples: int = 20

    # Notifications (lifeceo.community.notifications). Likes and RSVPs arriving within this long
    # of the last one join its unread notification ("@ana and 9 others liked your post"); after
    # a quiet hour the next one is news of its own.
    notifications_coalesce_window_seconds: int = 3600
    # Comments on an idle live stream: proxies drop idle connections after 30-60 s (nginx's
    # proxy_read_timeout is 60 s), and a client that vanished is noticed at the next write.
    notifications_stream_heartbeat_seconds: float = 15.0
    # A stream ends after this long and the client resumes with Last-Event-ID: a revoked session
    # stops receiving, and streams spread over workers started since.
    notifications_stream_max_seconds: float = 1800.0

    # Feature flags (lifeceo.platform.flags). A change is announced to every process at once;
    # each also rereads all flags this often, in case an announcement was lost (Redis or the
    # LISTEN connection down). A ten-row SELECT per process every 30 s costs nothing.
    flags_resync_seconds: float = 30.0

    # Metrics (lifeceo.platform.observability.metrics, GET /api/metrics). Off: no HTTP or SQL
    # instrumentation at all, the baseline `lifeceo bench --compare-metrics` measures against.
    metrics_enabled: bool = True
    # Who may scrape: a Bearer token, or an address in these networks (comma-separated CIDRs;
    # empty for none). Loopback by default: a Prometheus on the node itself, nobody else.
    metrics_token: SecretStr | None = None
    metrics_allow_networks: str = "127.0.0.0/8,::1/128"
    # Per-process figures (pool, cache counters, RSS, CPU) are copied into the shared metric
    # files this often; a 15 s scrape interval sees each worker at most 5 s old.
    metrics_sample_interval_seconds: float = 5.0
    # Event-loop lag is the overshoot of a sleep of this length: 0.5 s catches a 100 ms stall
    # without waking the loop more than twice a second.
    metrics_lag_interval_seconds: float = 0.5
    # Queue counts are read from PostgreSQL at most this often per process, so that several
    # Prometheus servers scraping every worker cannot turn into a query storm.
    metrics_queue_cache_seconds: float = 5.0

    # Request profiles (lifeceo.platform.observability.profiles, GET /api/v1/admin/profiles):
    # each request's SQL by fingerprint, a bounded sample kept per process. Off: no middleware,
    # and the SQL timing (metrics_db, shared with the metrics) feeds no profile: the baseline
    # `lifeceo bench --compare-profiles` measures against.
    profiles_enabled: bool = True
    # Every request this slow is kept: the original monitor's slow_api_response threshold.
    profile_slow_request_ms: float = Field(default=250.0, ge=0)
    # The slowest requests of each route class (template and method) kept each minute: enough
    # to show a route's slow tail, not its thousands of fast requests.
    profile_keep_per_route_minute: int = Field(default=5, ge=0)
    # Bounds of the per-minute sample and of the ring of slow requests. A profile is 1-3 KB (a
    # few dozen distinct statements; their texts are SQLAlchemy's own cached strings), so both
    # together stay under ~7 MB per process.
    profile_max_requests: int = Field(default=2000, ge=1)
    profile_slow_max_requests: int = Field(default=500, ge=0)
    # The monitor looks every 30 s over windows of a few minutes; 10 minutes also leaves an
    # operator time to look at what it saw.
    profile_retention_minutes: int = Field(default=10, ge=1)
    # GET /admin/profiles (scope=all) and the monitor's evidence wait this long for every
    # process's sample, as the levers' report does: NOTIFY and Redis pub/sub answer in a few ms
    # on a LAN, and a full page (1,000 summaries) is a handful of messages, so a process silent
    # for 300 ms is busy or gone.
    profiles_report_wait_ms: int = Field(default=300, ge=10, le=5000)

    # Metrics history (lifeceo.platform.observability.history): every interval each web process
    # stages its counts and one leader writes the key series. 10 s shows a burst to the
    # performance monitor, which looks every 30 s, while two days of it stay ~2 M rows.
    metrics_history_enabled: bool = True
    metrics_history_interval_seconds: float = 10.0
    # Raw samples answer "what happened in the last two days" at full resolution; older
    # questions are about trends, which the 1 min and 1 h rollups answer for a month.
    metrics_history_raw_retention_hours: int = 48
    metrics_history_rollup_retention_days: int = 30
    # Points per series a single series request may return: a chart is ~1,000 pixels wide.
    metrics_history_max_points: int = 2000

    # Traces (lifeceo.platform.observability.tracing). Unset: no tracer is installed and requests
    # pay nothing for it. Set: spans go by OTLP/HTTP to this collector (its base URL, as
    # OTEL_EXPORTER_OTLP_ENDPOINT: http://collector:4318).
    otel_endpoint: str | None = None
    # Share of new traces kept; a request whose caller sent a sampled traceparent is always kept
    # (parent-based), and so are the jobs of a kept request. A sampled request costs ~90 µs of
    # CPU (span, attributes, OTLP encoding): +9.7 % on a cached feed read at 1.0, +3.4 % at 0.1
    # (measured), inside the 10 % the issue allows all observability together.
    otel_sample_ratio: float = Field(default=0.1, ge=0.0, le=1.0)
    otel_service_name: str = "lifeceo"
    # Errors (lifeceo.platform.observability.errors): unset, nothing is reported anywhere but
    # the logs. The release defaults to lifeceo@<package version>.
    sentry_dsn: SecretStr | None = None
    sentry_release: str | None = None
    # Recent warnings and errors kept per process for GET /admin/logs: 1,000 records of ~1 KB
    # are a megabyte, and hold the last few minutes of even a noisy incident.
    log_recent_max_records: int = Field(default=1000, ge=0)
    # The same records of every web and job worker on every node, shipped to PostgreSQL
    # (log_records) for GET /admin/logs and the monitor's evidence. Off: the ring buffer only.
    log_ship_enabled: bool = True
    # What the ring keeps too; info lines stay on stderr, where a log pipeline may collect them.
    log_ship_level: Literal["warning", "error", "critical"] = "warning"
    # An operator finds a request's error a second after it; one INSERT a second per process
    # that logged anything costs the database nothing.
    log_ship_interval_seconds: float = Field(default=1.0, gt=0)
    # Rows per INSERT: 500 x 11 columns stays far below PostgreSQL's 65,535 parameters.
    log_ship_batch_max_records: int = Field(default=500, ge=1, le=5000)
    # Records waiting while the database is slow or down, newest dropped past it: 5,000 of
    # ~1 KB are 5 MB per process, over a minute and a half of an incident logging 50 a second.
    log_ship_queue_max_records: int = Field(default=5000, ge=1)
    # A batch the database cannot take is retried every interval for this long, then dropped:
    # a restart or failover (seconds to a minute) loses nothing, a long outage costs no memory.
    log_ship_retry_seconds: float = Field(default=120.0, ge=0)
    # Shipped records are deleted after this long: a Friday evening's incident still has its
    # lines on Monday morning. The cap bounds a flood: a million rows of ~1 KB is about 1 GB.
    log_retention_hours: int = Field(default=72, ge=1)
    log_retention_max_rows: int = Field(default=1_000_000, ge=1)

    # The performance monitor's detectors (lifeceo.platform.monitor.detectors), over the
    # metrics history. The seed's objectives: responses under 200 ms, errors under 0.1 %.
    monitor_latency_slo_ms: float = Field(default=200.0, gt=0)
    # Share of intervals whose p95 may exceed the objective: 1 % is about 15 minutes a day.
    monitor_latency_slo_budget: float = Field(default=0.01, gt=0, le=1)
    monitor_error_budget: float = Field(default=0.001, gt=0, le=1)
    # The SRE workbook's fast-burn pair: at 14.4 times the allowed rate, 2 % of a month's budget
    # goes in an hour; the short window makes a recovered service stop alarming within minutes.
    monitor_burn_rate: float = Field(default=14.4, gt=0)
    monitor_short_window_seconds: float = Field(default=60.0, gt=0)
    monitor_long_window_seconds: float = Field(default=300.0, gt=0)
    # Fewer requests in an interval say nothing about its p95 (5 requests: its p95 is the worst).
    monitor_min_requests_per_interval: int = Field(default=5, ge=1)
    # An error ratio over fewer requests than this is noise: one error in 50 is already 2 %.
    monitor_min_requests_per_window: int = Field(default=200, ge=1)
    # Cache hit ratio: judged against its baseline (the same hour of previous days, or the
    # previous hour: below), with at least 500 lookups in the window (no alarm without traffic)
    # and a drop of at least 20 points, whatever the baseline's spread.
    monitor_baseline_seconds: float = Field(default=3600.0, gt=0)
    monitor_min_baseline_points: int = Field(default=30, ge=3)
    monitor_min_cache_lookups: int = Field(default=500, ge=1)
    monitor_cache_hit_min_drop: float = Field(default=0.2, ge=0, le=1)
    # Baselines learn the same hour of day on the previous days instead of the previous hour
    # (a peak every morning at 9 is 9 o'clock's normal): the 1-minute rollups within 30 min
    # either side of now's time of day, 60 a day, over the last 7 days (420 rows a label; the
    # rollups keep 30 days), once 3 of those days have at least 30 points there (half their
    # minutes). Three, because the median of three ignores one odd day (yesterday's incident at
    # this hour); with two it is their mean. Fewer days: the previous hour, as before.
    monitor_seasonal_days: int = Field(default=7, ge=1, le=30)
    monitor_seasonal_half_window_seconds: float = Field(default=1800.0, gt=0, le=43200)
    monitor_seasonal_min_days: int = Field(default=3, ge=1)
    monitor_seasonal_min_points_per_day: int = Field(default=30, ge=1)
    # slow_api_response's anomaly band, besides the SLO's burn rate: a route class's p95 above
    # twice its own normal and its robust band, and above 50 ms (a quarter of the 200 ms SLO: a
    # 3 ms route turning 9 ms is no incident), in each of the last 3 intervals with enough
    # requests (30 s: one slow batch or GC pause is one interval), is a warning under the SLO.
    monitor_latency_band_factor: float = Field(default=2.0, ge=1)
    monitor_latency_band_floor_ms: float = Field(default=50.0, ge=0)
    monitor_latency_band_intervals: int = Field(default=3, ge=1)
    # A queue is backlogged once its oldest due job waited 2 minutes (e-mail is expected within
    # a minute) and it would not be empty within 10 at its present rate.
    monitor_queue_max_age_seconds: float = Field(default=120.0, gt=0)
    monitor_queue_max_drain_seconds: float = Field(default=600.0, gt=0)
    # Holt's trend needs a minute of 10 s points before its slope means anything.
    monitor_min_trend_points: int = Field(default=6, ge=3)
    # A web worker holds ~140 MB at rest (measured with ps) and its L1 cache may add 32 MB:
    # growth towards 1 GiB is a leak, not a working set.
    monitor_worker_rss_limit_bytes: int = Field(default=1024 * 1024 * 1024, gt=0)
    # Forecasts look this far ahead: time enough to recycle a worker before it reaches the limit.
    monitor_forecast_horizon_seconds: float = Field(default=1800.0, gt=0)
    # A loop delayed 0.5 s in 2 of the last 6 intervals is blocked; a GC pause is ~50 ms, once.
    monitor_max_loop_lag_ms: float = Field(default=500.0, gt=0)
    monitor_min_blocked_intervals: int = Field(default=2, ge=1)
    # N+1: ten requests of a class in the short window broke Sentry's rule, and at least 1 % of
    # its requests: one report's loop is not the class's problem.
    monitor_n_plus_one_min_requests: int = Field(default=10, ge=1)
    monitor_n_plus_one_min_ratio: float = Field(default=0.01, gt=0, le=1)
    # The database is slow when its mean statement time or a round trip exceeds, in each of the
    # last 2 intervals, 3 times its own median and 25 ms (a local SELECT 1 takes ~0.3 ms, the
    # platform's statements ~1 ms on average; 25 ms is what a 200 ms page cannot afford).
    monitor_db_slow_floor_ms: float = Field(default=25.0, gt=0)
    monitor_db_slow_factor: float = Field(default=3.0, ge=1)
    monitor_db_slow_intervals: int = Field(default=2, ge=1)
    # Redis is down when some process finds it unreachable in 2 intervals running (its breaker
    # opens within a second of an outage, and one probe's blip does not last 10 s); the database
    # when over 5 % of its statements fail (over as many as an error ratio needs).
    monitor_dependency_down_intervals: int = Field(default=2, ge=1)
    monitor_db_max_error_ratio: float = Field(default=0.05, gt=0, le=1)
    # A network dependency is slow when, in each of the last 2 intervals with calls, its calls
    # take 5 times their median and 500 ms (a purge to Varnish on the LAN takes ~1 ms, a
    # relay's SMTP delivery tens, a webhook hundreds: past half a second every caller waits),
    # or over 20 % of them fail (one refused delivery in a handful is the receiver's answer).
    monitor_dependency_slow_floor_ms: float = Field(default=500.0, gt=0)
    monitor_dependency_slow_factor: float = Field(default=5.0, ge=1)
    monitor_dependency_slow_intervals: int = Field(default=2, ge=1)
    monitor_dependency_max_failure_ratio: float = Field(default=0.2, gt=0, le=1)
    # The cache's Redis is slower than the database it spares when its median round trip over
    # the short window is twice the database's and above 5 ms (a PING on the LAN takes ~0.3 ms;
    # below 5 ms no page waits on it): its breaker is then better open (open_breaker).
    monitor_cache_slow_floor_ms: float = Field(default=5.0, gt=0)
    # A client is abusive when it makes a quarter of the rate-limited requests admitted in each
    # of the last 2 intervals, and 300 in the short window (5 a second): on a community site
    # with hundreds of readers nobody reads that much by hand; a scraper or a retry loop does.
    # tighten_client then holds it to 60 a minute, which a person reading and posting never
    # notices and a script slows to.
    monitor_client_max_share: float = Field(default=0.25, gt=0, le=1)
    monitor_client_min_requests: int = Field(default=300, ge=1)
    monitor_client_intervals: int = Field(default=2, ge=1)
    monitor_tightened_client_limit: str = "60/minute"
    # An error group is new or surging with 10 errors in the short window (one user retrying a
    # broken page makes a few) and none in the hour before, or 10 times its hourly rate: a
    # known error that comes and goes (a client's bad input, a flaky call) stays below that.
    monitor_error_group_min_errors: int = Field(default=10, ge=1)
    monitor_error_group_surge_factor: float = Field(default=10.0, gt=1)
    # slow_query (statement_detectors), from pg_stat_statements between two evaluations: a
    # statement run 5 times in the interval at a mean of 250 ms or more (the profiles' slow
    # request, LIFECEO_PROFILE_SLOW_REQUEST_MS: one such statement spends a page's budget) and,
    # once 50 earlier calls make its own mean worth comparing, twice that mean. Fewer calls are
    # an odd one, not the statement's behaviour; a constant slow statement is not a new step.
    monitor_slow_query_floor_ms: float = Field(default=250.0, gt=0)
    monitor_slow_query_min_calls: int = Field(default=5, ge=1)
    monitor_slow_query_factor: float = Field(default=2.0, ge=1)
    monitor_slow_query_min_history_calls: int = Field(default=50, ge=1)
    # Statements read each evaluation: pg_stat_statements.max's default, so that none is
    # missing from one reading and counted whole in the next (a few hundred here, ~0.1 MB).
    monitor_slow_query_max_statements: int = Field(default=5000, ge=1)
    # runaway_query: four times database_statement_timeout_ms (30 s), which ends every request's
    # and job's statement first; what runs longer escaped it (psql, a seed, a migration).
    monitor_runaway_query_seconds: float = Field(default=120.0, gt=0)
    # The browsers' pages got slower (client_performance_regression, over the RUM series): the
    # p75 over the short window above Core Web Vitals' "good" thresholds (web.dev/articles/vitals:
    # LCP at most 2.5 s, INP at most 200 ms, at the 75th percentile of page loads) and above its
    # own previous hour by a quarter, with at least 50 beacons in the window (a p75 of 50 is
    # their 38th: a dozen slow pages above it, not one phone on a train).
    monitor_rum_lcp_good_ms: float = Field(default=2500.0, gt=0)
    monitor_rum_inp_good_ms: float = Field(default=200.0, gt=0)
    monitor_rum_regression_factor: float = Field(default=1.25, ge=1)
    monitor_rum_min_beacons: int = Field(default=50, ge=1)
    # The monitor's loop (lifeceo.platform.monitor.leader): one leader of all processes and nodes
    # evaluates the detectors; off, no process starts it (the advanced-monitoring flag pauses it
    # at runtime instead).
    monitor_enabled: bool = True
    # 1.5 history intervals: every evaluation sees at least one new 10 s point, and a problem
    # is found ~15 s after its first bad interval is written (the target) instead of the
    # original's 30 s; one evaluation costs a few queries and milliseconds (README).
    monitor_interval_seconds: float = Field(default=15.0, gt=0)
    # An incident resolves once its detector has been quiet this long: two short windows, so
    # that a burn rate hovering around its threshold is one incident, not one a minute.
    monitor_resolve_after_seconds: float = Field(default=120.0, gt=0)
    # A resolved fingerprint opens no new incident for this long; a re-detection within it
    # reopens the resolved one, so that a flapping signal shows as one incident.
    monitor_cooldown_seconds: float = Field(default=300.0, ge=0)
    # Warnings and errors of the window kept in an incident's evidence: the first screen of
    # what went wrong, not a log archive (GET /admin/logs has the rest).
    monitor_evidence_max_log_records: int = Field(default=20, ge=0, le=1000)
    # Repeated and busiest statements kept in the evidence, each list.
    monitor_evidence_max_statements: int = Field(default=5, ge=0, le=100)
    # Remediation (lifeceo.platform.monitor.actions): the kill switch of every action (the
    # advanced-monitoring flag pauses the whole monitor instead), and dry-run, which records what
    # the monitor would do and pulls nothing.
    monitor_actions_enabled: bool = True
    monitor_dry_run: bool = False
    # How long each action holds its lever (it expires by itself then): a quarter of an hour
    # outlasts a load spike's detection, verification and resolution (60 + 180 + 120 s); a
    # queue's backlog of tens of minutes drains in 30; a recycle's setting only has to reach the
    # worker that acts, within seconds. A flag rollback does not expire (0): it stays until an
    # administrator applies the change again. A slow Redis (a fork for a snapshot, a big KEYS)
    # is held off for 5 minutes, then its breaker's half-open probe tries it again. A cancelled
    # statement and an accepted index suggestion hold nothing (0): one is over, the other waits
    # for a migration. A warm acts once, when it reaches each process; its setting only has to
    # outlive the verification, so that the levers' list shows it meanwhile.
    monitor_action_hold_seconds: dict[str, int] = {
        "shed": 900, "serve_stale": 900, "raise_queue_concurrency": 1800, "recycle_worker": 120,
        "rollback_flag": 0, "open_breaker": 300, "tighten_client": 900, "cancel_query": 0,
        "suggest_index": 0, "warm_cache": 300}
    # The detector must be quiet this soon after the lever is pulled, else it is undone: the
    # latency burn rate's short window (60 s) must have passed clean, with two intervals to
    # spare; a queue's depth trend and an RSS forecast read the long window (300 s); the hit
    # ratio is judged over the short window too, so a warm that helped shows within 180 s. A
    # cancelled statement is gone from pg_stat_activity at the next evaluation (15 s); 60 s
    # leaves three. An index suggestion is settled when accepted, never verified (0: unused).
    monitor_action_verify_seconds: dict[str, float] = {
        "shed": 180.0, "serve_stale": 180.0, "raise_queue_concurrency": 300.0,
        "recycle_worker": 300.0, "rollback_flag": 180.0, "open_breaker": 90.0,
        "tighten_client": 180.0, "cancel_query": 60.0, "suggest_index": 0.0,
        "warm_cache": 180.0}
    # One fingerprint is not tried again by the same action for this long (from its proposal):
    # the lever's hold, so that an expired mitigation may be renewed, never stacked; a flag is
    # rolled back at most once an hour for one burst; a backend's runaway is asked about again
    # after 5 minutes; a statement's index once a day (a migration takes a release to ship); a
    # namespace is warmed again 10 minutes on at the soonest: its misses came back after a warm
    # that helped (a TTL later), or the warm did not help and something else empties it.
    monitor_action_cooldown_seconds: dict[str, float] = {
        "shed": 900.0, "serve_stale": 900.0, "raise_queue_concurrency": 1800.0,
        "recycle_worker": 1800.0, "rollback_flag": 3600.0, "open_breaker": 300.0,
        "tighten_client": 900.0, "cancel_query": 300.0, "suggest_index": 86400.0,
        "warm_cache": 600.0}
    # Attempts of one action per hour, all fingerprints: more means the lever does not fix the
    # cause, and a human should look; a second recycle within an hour is a leak, not bad luck;
    # ten clients tightened in an hour is an attack for the proxy in front, not for this lever.
    # Cancels and suggestions each ask an administrator, whom five an hour do not flood. A warm
    # costs one recomputation per hot key (at most 100 per process): 6 an hour, one per
    # namespace every 10 minutes or several namespaces at once.
    monitor_action_max_per_hour: dict[str, int] = {
        "shed": 3, "serve_stale": 3, "raise_queue_concurrency": 2, "recycle_worker": 2,
        "rollback_flag": 2, "open_breaker": 3, "tighten_client": 10, "cancel_query": 5,
        "suggest_index": 5, "warm_cache": 6}
    # rollback_flag's suspect: the last flag change in the 15 minutes before an error burst's
    # incident opened; a change's errors show within a minute or two of it reaching traffic.
    monitor_flag_change_window_seconds: float = Field(default=900.0, gt=0)
    # Incident notifications (lifeceo.platform.monitor.notify), comma-separated: each URL gets a
    # JSON POST signed with HMAC-SHA256 under the secret key, each address a text+HTML message.
    # None by default: nobody is told of anything they did not ask for.
    monitor_webhook_urls: str = ""
    monitor_alert_emails: str = ""
    # A receiver that has not answered in 10 s is down for this attempt; the notifications
    # queue retries it (5 times, from 3 s), and a slow receiver never holds the evaluation.
    monitor_webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Resolved incidents (with their timelines, predictions and actions) and settled actions
    # are deleted after this long by the monitor-expire job: a quarter's incidents stay for a
    # review, and the tables stay small (an incident a day is a few hundred rows a quarter).
    monitor_retention_days: int = Field(default=90, ge=1)

    _generated_secret_key: str | None = PrivateAttr(default=None)

    @field_validator("monitor_action_hold_seconds", "monitor_action_verify_seconds",
                     "monitor_action_cooldown_seconds", "monitor_action_max_per_hour",
                     mode="after")
    @classmethod
    def _every_action_keeps_its_default(cls, value: dict, info) -> dict:
        # LIFECEO_MONITOR_ACTION_HOLD_SECONDS='{"shed": 60}' changes one action, not all.
        return {**cls.model_fields[info.field_name].default, **value}

    @model_validator(mode="after")
    def _secret_key_required_in_production(self) -> "Settings":
        if self.env == "production" and self.secret_key is None:
            raise ValueError("LIFECEO_SECRET_KEY is required when LIFECEO_ENV=production")
        return self

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def media_variants_dir(self) -> Path:
        # Apart from the originals: rendered from them, so a backup may skip it and re-running
        # process-media rebuilds it.
        return self.data_dir / "media-variants"

    @property
    def mail_outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self._generated_secret_key is None:
            path = self.data_dir / SECRET_KEY_FILE
            if not path.exists():
                self.data_dir.mkdir(parents=True, exist_ok=True)
                # Written aside, then linked into place: of several workers starting at once, one
                # key wins and nobody reads a half-written file.
                candidate = path.with_name(f"{SECRET_KEY_FILE}.{os.getpid()}")
                candidate.write_text(secrets.token_urlsafe(48))
                candidate.chmod(0o600)
                try:
                    os.link(candidate, path)
                except FileExistsError:
                    pass
                finally:
                    candidate.unlink()
            self._generated_secret_key = path.read_text().strip()
        return self._generated_secret_key


@lru_cache
def get_settings() -> Settings:
    return Settings()
