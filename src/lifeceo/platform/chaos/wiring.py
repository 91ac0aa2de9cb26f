"""How a web process takes part: the middleware and routes where chaos is armed (create_app),
and the board with every fault kind over the process's services (the lifespan)."""

import structlog
from fastapi import APIRouter, FastAPI

from lifeceo.platform.chaos.board import ChaosBoard, armed, refusal
from lifeceo.platform.chaos.dependencies import RedisOutage, SlowDependency
from lifeceo.platform.chaos.endpoints import router
from lifeceo.platform.chaos.jobs import ColdCache, QueueStall
from lifeceo.platform.chaos.requests import ChaosMiddleware, DatabaseLatency, RouteErrors
from lifeceo.platform.chaos.resources import LoopBlocker, MemoryLeak, NPlusOne
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)


def routers(settings: Settings) -> tuple[APIRouter, ...]:
    """The admin routes, only where faults may be injected."""
    return (router,) if armed(settings) else ()


def install(app: FastAPI, settings: Settings) -> None:
    """Add first, so that it is the innermost middleware; nothing where chaos is not armed."""
    if (reason := refusal(settings)) is not None:
        log.warning("fault injection refused", reason=reason)
    if not armed(settings):
        return
    app.state.chaos_route_errors = RouteErrors()
    app.add_middleware(ChaosMiddleware, errors=app.state.chaos_route_errors)


async def start(app: FastAPI) -> ChaosBoard | None:
    """The web process's board (in app.state.chaos), started; None where chaos is not armed."""
    settings = app.state.settings
    if not armed(settings):
        return None
    rate_limiter = app.state.rate_limiter
    board = ChaosBoard(app.state.live, [
        DatabaseLatency(app.state.engine), app.state.chaos_route_errors, NPlusOne(),
        MemoryLeak(), LoopBlocker(),
        RedisOutage(redis_configured=settings.redis_url is not None, cache=app.state.cache,
                    rate_limiter=rate_limiter),
        QueueStall(), ColdCache(app.state.cache), SlowDependency(),
    ], role="web")
    await board.start()
    return board


async def stop(board: ChaosBoard | None) -> None:
    if board is not None:
        await board.close()
