"""How a web process takes part: the middleware and routes where chaos is armed (create_app),
and the board with every fault kind over the process's services (the lifespan)."""

import structlog
from fastapi import APIRouter, FastAPI

from lifeceo.platform.chaos.board import ChaosBoard, armed, every_kind, refusal
from lifeceo.platform.chaos.dependencies import install_hooks
from lifeceo.platform.chaos.endpoints import router
from lifeceo.platform.chaos.requests import ChaosMiddleware, RouteErrors
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
    install_hooks()
    board = ChaosBoard(app.state.live, every_kind(
        settings, engine=app.state.engine, cache=app.state.cache,
        rate_limiter=app.state.rate_limiter, route_errors=app.state.chaos_route_errors),
        role="web", max_seconds=settings.chaos_max_seconds)
    await board.start()
    return board


async def stop(board: ChaosBoard | None) -> None:
    if board is not None:
        await board.close()
