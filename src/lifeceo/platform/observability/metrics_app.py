"""Metrics wired into the application: the endpoint, the middleware and the process sampler."""

from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.platform.observability import metrics
from lifeceo.platform.observability.metrics_collectors import QueueSnapshot
from lifeceo.platform.observability.metrics_endpoints import allowed_networks, router
from lifeceo.platform.observability.metrics_http import HttpMetricsMiddleware
from lifeceo.platform.observability.metrics_process import ProcessMetrics
from lifeceo.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add last, so that the middleware is the outermost and times all the others."""
    metrics.configure(enabled=settings.metrics_enabled)
    if not settings.metrics_enabled:
        return
    allowed_networks(settings.metrics_allow_networks)  # a malformed list fails at startup
    app.include_router(router)
    app.add_middleware(HttpMetricsMiddleware)


def start(app: FastAPI, settings: Settings, *, engine: AsyncEngine, cache: Any) -> None:
    if not settings.metrics_enabled:
        return
    app.state.process_metrics = ProcessMetrics.from_settings(
        settings, engine=engine, cache=cache).start()
    app.state.queue_snapshot = QueueSnapshot(
        engine, max_age_seconds=settings.metrics_queue_cache_seconds)


async def stop(app: FastAPI) -> None:
    process_metrics = getattr(app.state, "process_metrics", None)
    if process_metrics is not None:
        await process_metrics.close()
