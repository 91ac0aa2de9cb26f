"""The FastAPI application: platform services wired in the lifespan, one router per noun."""

import time
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from lifeceo.community.events.endpoints import router as events_router
from lifeceo.community.feed.endpoints import router as feed_router
from lifeceo.community.media.endpoints import router as media_router
from lifeceo.community.notifications.endpoints import router as notifications_router
from lifeceo.community.posts.endpoints import router as posts_router
from lifeceo.community.users.endpoints import router as users_router
from lifeceo.errors import LifeceoError
from lifeceo.platform.db.engine import create_engine, create_sessionmaker
from lifeceo.platform.health import HealthRegistry
from lifeceo.platform.health.database import database_check
from lifeceo.platform.health.endpoints import router as health_router
from lifeceo.platform.http import problems
from lifeceo.platform.http.middleware import BodyLimitMiddleware, RequestContextMiddleware
from lifeceo.platform.observability.logging import configure_logging
from lifeceo.settings import Settings, get_settings

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Each uvicorn worker process builds its app here, so this is where its logging is set up.
    configure_logging(log_format=settings.log_format, level=settings.log_level, env=settings.env)
    if settings.database_url is None:
        raise LifeceoError("LIFECEO_DATABASE_URL is not set; `lifeceo serve` sets it for the "
                           "embedded database")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        started = time.monotonic()
        engine = create_engine(settings, settings.database_url)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.health = HealthRegistry()
        app.state.health.add("database", database_check(engine))
        app.state.startup_seconds = round(time.monotonic() - started, 3)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="lifeceo",
        version="0.1.0",
        summary="A community platform: users, posts, events, feed, notifications, media.",
        lifespan=lifespan,
    )
    api = APIRouter(prefix=API_PREFIX)
    for router in (users_router, posts_router, feed_router, events_router, notifications_router,
                   media_router):
        api.include_router(router)
    app.include_router(api)
    app.include_router(health_router)
    problems.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes,
                       overrides={f"{API_PREFIX}/media": settings.max_upload_bytes})
    app.add_middleware(RequestContextMiddleware)
    return app
