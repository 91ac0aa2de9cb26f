"""The FastAPI application: platform services wired in the lifespan, one router per noun."""

import asyncio
import time
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from lifeceo import jobs  # noqa: F401  (every job handler: enqueue needs their queues)
from lifeceo.community.analytics.buffer import EventBuffer
from lifeceo.community.analytics.endpoints import router as analytics_router
from lifeceo.community.analytics.service import analytics_service
from lifeceo.community.events.endpoints import router as events_router
from lifeceo.community.feed.endpoints import router as feed_router
from lifeceo.community.media.endpoints import router as media_router
from lifeceo.community.notifications.endpoints import router as notifications_router
from lifeceo.community.posts.endpoints import router as posts_router
from lifeceo.community.search.endpoints import router as search_router
from lifeceo.community.users.dependencies import SESSION_COOKIE, optional_viewer
from lifeceo.community.users.endpoints import router as users_router
from lifeceo.errors import LifeceoError
from lifeceo.platform import flags as feature_flags
from lifeceo.platform.batch.endpoints import router as batch_router
from lifeceo.platform.cache import Cache, cache_check
from lifeceo.platform.cache.endpoints import router as cache_router
from lifeceo.platform.chaos import wiring as chaos
from lifeceo.platform.db.engine import create_engine, create_sessionmaker
from lifeceo.platform.flags import switches as flag_switches
from lifeceo.platform.flags.defaults import ensure_defaults as ensure_platform_flags
from lifeceo.platform.flags.endpoints import router as flags_router
from lifeceo.platform.health import HealthRegistry
from lifeceo.platform.health.database import database_check
from lifeceo.platform.health.endpoints import router as health_router
from lifeceo.platform.http import docs, identity, openapi, problems, security
from lifeceo.platform.http.middleware import BodyLimitMiddleware, RequestContextMiddleware
from lifeceo.platform.httpcache import (
    CachePolicy,
    CachePolicyMiddleware,
    CompressionMiddleware,
    ETagMiddleware,
    PurgeOnWriteMiddleware,
    purger_for,
)
from lifeceo.platform.levers import (
    AdaptiveConcurrency,
    AdaptiveConcurrencyMiddleware,
    BreakerHold,
    CacheWarm,
    ClientLimit,
    LeverBoard,
    QueueConcurrency,
    RecycleRequests,
    StaleReads,
    StaleReadsMiddleware,
    WorkerRecycle,
)
from lifeceo.platform.levers.endpoints import router as levers_router
from lifeceo.platform.monitor.endpoints import router as monitor_router
from lifeceo.platform.monitor.leader import Monitor
from lifeceo.platform.observability import loop_lag, metrics_app, profiles
from lifeceo.platform.observability.errors import (
    configure_error_reporting,
    install_error_reporting,
)
from lifeceo.platform.observability.history import HistorySampler
from lifeceo.platform.observability.history_endpoints import router as metrics_history_router
from lifeceo.platform.observability.logging import configure_logging
from lifeceo.platform.observability.logs_shipper import LogShipper
from lifeceo.platform.observability.profiles_endpoints import router as profiles_router
from lifeceo.platform.observability.profiles_report import ProfileReport
from lifeceo.platform.observability.recent_endpoints import router as recent_logs_router
from lifeceo.platform.observability.statements_endpoints import router as statements_router
from lifeceo.platform.observability.tracing import (
    configure_tracing,
    instrument_app,
    instrument_engine,
)
from lifeceo.platform.pubsub import LiveHub, live_check
from lifeceo.platform.queue import JobContext, queue_check
from lifeceo.platform.queue.context import bind as bind_jobs
from lifeceo.platform.queue.endpoints import router as jobs_router
from lifeceo.platform.queue.maintenance import warm_when_asked
from lifeceo.platform.ratelimit import (
    RateLimiter,
    RateLimitHeadersMiddleware,
    rate_limit,
    rate_limiter_for,
    ratelimit_check,
)
from lifeceo.platform.search.health import search_check
from lifeceo.settings import Settings, get_settings

API_PREFIX = "/api/v1"


def _redis_reachable(cache: Cache, rate_limiter: RateLimiter | None
                     ) -> Callable[[], dict[str, bool]]:
    """What the metrics history asks each interval: whether the cache's and the rate limiter's
    Redis answer this process (the monitor's dependency_down detector)."""
    def reachable() -> dict[str, bool]:
        found = {"cache-redis": cache.redis_reachable(),
                 "ratelimit-redis": rate_limiter.redis_reachable() if rate_limiter else None}
        return {name: up for name, up in found.items() if up is not None}
    return reachable


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Each uvicorn worker process builds its app here, so this is where its logging is set up.
    configure_logging(log_format=settings.log_format, level=settings.log_level, env=settings.env,
                      recent_max_records=settings.log_recent_max_records)
    # Its tracer and error reporting too (each installs nothing unless configured).
    configure_tracing(settings)
    configure_error_reporting(settings)
    if settings.database_url is None:
        raise LifeceoError("LIFECEO_DATABASE_URL is not set; `lifeceo serve` sets it for the "
                           "embedded database")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        started = time.monotonic()
        # Before anything that calls Redis: a timeout there counts only if this loop was on time.
        loop_lag.monitor()
        # create_engine times its statements for the metrics and each request's profile
        # (metrics_db); instrument_engine adds their spans.
        engine = create_engine(settings, settings.database_url)
        instrument_engine(engine)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        # This worker's warnings and errors go to log_records with every other process's; first,
        # so that those of its startup (Redis down, say) are among them.
        app.state.log_shipper = LogShipper.start(settings, app.state.sessionmaker, role="web")
        app.state.health = HealthRegistry()
        app.state.health.add("database", database_check(engine))
        app.state.cache = Cache.from_settings(settings, engine=engine)
        await app.state.cache.start()
        app.state.health.add("cache", cache_check(app.state.cache))
        # Event-loop lag, pool, cache and process figures of this worker, for /api/metrics.
        metrics_app.start(app, settings, engine=engine, cache=app.state.cache)
        # Jobs enqueued through this engine run with these services when inline.
        app.state.jobs = JobContext(settings=settings, sessionmaker=app.state.sessionmaker,
                                    cache=app.state.cache, engine=engine)
        bind_jobs(app.state.jobs)
        app.state.health.add("queues", queue_check(settings, engine))
        app.state.health.add("search", search_check(engine))
        app.state.rate_limiter = rate_limiter_for(settings)
        if app.state.rate_limiter is not None:
            app.state.health.add("ratelimit", ratelimit_check(app.state.rate_limiter))
        # One listener per process feeds this process's live notification streams.
        app.state.live = LiveHub.from_settings(settings, engine=engine,
                                               prefer_redis=flag_switches.live_over_redis)
        await app.state.live.start()
        app.state.health.add("live", live_check(app.state.live))
        # The runtime levers, pulled in any process and applied in every one.
        app.state.levers = LeverBoard(app.state.live, [
            concurrency_limits,
            BreakerHold(cache=app.state.cache, rate_limiter=app.state.rate_limiter),
            ClientLimit(rate_limiter=app.state.rate_limiter,
                        max_clients=settings.levers_max_tightened_clients),
            QueueConcurrency(min_concurrency=settings.jobs_concurrency_min,
                             max_concurrency=settings.jobs_concurrency_max),
            stale_reads,
            # Only under `lifeceo serve`'s supervisor, which starts the replacement.
            WorkerRecycle(RecycleRequests.inherited()),
            # A namespace's hot keys refreshed at once, where requests read them.
            CacheWarm(cache=app.state.cache),
        ], role="web", max_seconds=settings.levers_max_seconds)
        await app.state.levers.start()
        # Every process's request profiles: each answers the others' questions from its sample.
        app.state.profiles = ProfileReport(app.state.live, app.state.profile_store,
                                           wait_seconds=settings.profiles_report_wait_ms / 1000)
        await app.state.profiles.start()
        # Fault injection, only where it is armed (LIFECEO_CHAOS_ENABLED): its own board.
        app.state.chaos = await chaos.start(app)
        # Flags are evaluated from this process's snapshot, reloaded when any process announces
        # a change over the live hub; `feature_flags.current()` finds it from anywhere.
        app.state.flags = feature_flags.FlagStore(engine=engine, publish=app.state.live.publish)
        await ensure_platform_flags(engine)
        await app.state.flags.reload()
        app.state.flags.follow(app.state.live, resync_seconds=settings.flags_resync_seconds)
        feature_flags.install(app.state.flags)
        app.state.flags.on_reload(flag_switches.pause_cache_with_performance_flag(app.state.cache))
        app.state.flags.on_reload(
            flag_switches.drop_local_cache_when_presentation_changes(app.state.cache))
        warmer = asyncio.create_task(warm_when_asked(app.state.cache, app.state.live))
        # Tracked events wait in it for their track-events job, one per flush.
        app.state.event_buffer = EventBuffer.start(settings, engine, app.state.sessionmaker)
        # Experiment variants shown to someone become analytics events (a-b-testing).
        app.state.flags.on_exposure(analytics_service.exposure_listener(app.state.event_buffer))
        # Stages this process's counts every interval; one process of all leads and writes the
        # metrics history.
        app.state.metrics_history = (HistorySampler.start(
            settings, engine, app.state.sessionmaker, cache_stats=app.state.cache.stats,
            paused=flag_switches.monitoring_paused,
            dependencies=_redis_reachable(app.state.cache, app.state.rate_limiter),
            cache_round_trip=app.state.cache.redis_round_trip)
            if settings.metrics_history_enabled else None)
        # Every process tries for the monitor's leader lock; the one holding it evaluates the
        # detectors over that history, and remediates through this process's levers.
        app.state.monitor = (Monitor.start(settings, engine, app.state.sessionmaker,
                                           paused=flag_switches.monitoring_paused,
                                           levers=app.state.levers,
                                           profiles=app.state.profiles)
                             if settings.monitor_enabled else None)
        app.state.startup_seconds = round(time.monotonic() - started, 3)
        try:
            yield
        finally:
            # First: its last flush enqueues through the database.
            await app.state.event_buffer.close()
            # Hands the monitor's leadership over at once.
            if app.state.monitor is not None:
                await app.state.monitor.close()
            # Stages its last partial interval and gives up the leader lock.
            if app.state.metrics_history is not None:
                await app.state.metrics_history.close()
            warmer.cancel()
            await app.state.flags.close()
            feature_flags.uninstall(app.state.flags)
            await metrics_app.stop(app)
            await chaos.stop(app.state.chaos)
            await app.state.levers.close()
            await app.state.profiles.close()
            # Ends the open streams; before the engine, which its publisher uses.
            await app.state.live.close()
            # Before the engine: its invalidation listener and publisher use the database.
            await app.state.cache.close()
            # Last before the engine: what the others logged while stopping is shipped too.
            if app.state.log_shipper is not None:
                await app.state.log_shipper.close()
            await engine.dispose()
            if app.state.rate_limiter is not None:
                await app.state.rate_limiter.close()
            await loop_lag.stop()

    app = FastAPI(
        title="lifeceo",
        version="0.1.0",
        summary="A community platform: users, posts, events, feed, notifications, media.",
        lifespan=lifespan,
        # Served by platform.http.docs from installed files: FastAPI's pages load from a CDN.
        docs_url=None, redoc_url=None,
    )
    docs.install(app)
    # Every API request counts against the general quota, the user's when logged in (the token
    # is looked up once per request; the endpoints that need the viewer reuse the answer).
    api = APIRouter(prefix=API_PREFIX, dependencies=[rate_limit("api", viewer=optional_viewer)])
    for router in (users_router, posts_router, feed_router, events_router, notifications_router,
                   media_router, batch_router, cache_router, analytics_router, jobs_router,
                   search_router, flags_router, metrics_history_router, recent_logs_router,
                   profiles_router, statements_router, levers_router, monitor_router,
                   *chaos.routers(settings)):
        api.include_router(router)
    app.include_router(api)
    app.include_router(health_router)
    problems.install(app)
    openapi.install(app, api_prefix=API_PREFIX, session_cookie=SESSION_COOKIE)
    # Who is asking, for the platform's own routes (flags, admin pages).
    identity.install(app, authenticate=optional_viewer)
    # Innermost: an injected error passes every middleware below as a real one does.
    chaos.install(app, settings)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes,
                       overrides={f"{API_PREFIX}/media": settings.max_upload_bytes},
                       drain_bytes=settings.max_body_drain_bytes,
                       drain_seconds=settings.max_body_drain_seconds)
    # HTTP caching, innermost first (each add_middleware wraps the ones before it). The policy
    # sets Cache-Control and Vary, which the ETag middleware must see to repeat them on a 304;
    # the ETag is taken over the identity body, so compression, which gives encoded bodies their
    # own -br/-gzip tag and strips that suffix from If-None-Match, sits outside both.
    app.add_middleware(CachePolicyMiddleware, policy=CachePolicy.from_settings(
        settings, session_cookie=SESSION_COOKIE), shared=flag_switches.shared_caching_enabled)
    app.add_middleware(PurgeOnWriteMiddleware, purger=purger_for(settings.varnish_purge_urls))
    app.add_middleware(ETagMiddleware)
    app.add_middleware(CompressionMiddleware, min_bytes=settings.compress_min_bytes,
                       enabled=flag_switches.compression_enabled)
    # Outside the cache policy: it leaves the per-client counts off responses shared caches keep.
    app.add_middleware(RateLimitHeadersMiddleware)
    # Degraded mode: a signed-in read whose anonymous answer is the same for everyone (the cache
    # policy's table), answered as the anonymous one (from the cache, through every middleware
    # above, as an anonymous request goes).
    stale_reads = StaleReads(session_cookie=SESSION_COOKIE)
    app.add_middleware(StaleReadsMiddleware, stale=stale_reads)
    # Sheds an expensive route class at its adaptive limit, before any of the work above.
    concurrency_limits = AdaptiveConcurrency.from_settings(settings)
    app.add_middleware(AdaptiveConcurrencyMiddleware, limits=concurrency_limits)
    # Inside the request context: it reads the request and user ids bound there.
    install_error_reporting(app)
    app.add_middleware(RequestContextMiddleware)
    # Outside the request context and the error reporting: it reads the request id and sees
    # the status the client got. Its store is app.state.profile_store.
    profiles.install(app, settings)
    # Last: the outermost middleware, so request durations include every other one.
    metrics_app.install(app, settings)
    # Around even that: the request span covers every middleware and the access log line.
    instrument_app(app)
    # Outside everything, the 500s of Starlette's outermost error handler included.
    security.install(app, hsts_max_age_seconds=settings.http_hsts_max_age_seconds)
    return app
