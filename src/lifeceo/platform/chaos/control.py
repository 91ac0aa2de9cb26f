"""Fault injection from the command line: a board of its own on a short-lived engine and live
hub, heard by every running process as an injection through the API is."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from lifeceo.errors import LifeceoError
from lifeceo.platform.chaos.board import ChaosBoard, armed, every_kind
from lifeceo.platform.db.engine import create_engine
from lifeceo.platform.levers.board import Setting, opened_board
from lifeceo.settings import Settings

ACTOR = "cli"


async def inject(settings: Settings, url: str, *, kind: str, magnitude: float, seconds: int,
                 target: str | None) -> Setting:
    async with _board(settings, url) as board:
        return await board.inject(kind, magnitude=magnitude, seconds=seconds, target=target,
                                  actor=ACTOR)


async def clear(settings: Settings, url: str, *, kind: str | None) -> list[Setting]:
    async with _board(settings, url) as board:
        # The faults in force reach this board as the running processes answer its sync.
        await board.report(wait_seconds=settings.chaos_report_wait_ms / 1000)
        return await board.clear(kind, actor=ACTOR)


async def status(settings: Settings, url: str) -> tuple[list[Setting], list[dict]]:
    """The faults in force and every running process's state (this one's left out)."""
    async with _board(settings, url) as board:
        processes = await board.report(wait_seconds=settings.chaos_report_wait_ms / 1000)
        return board.settings(), processes[1:]


@asynccontextmanager
async def _board(settings: Settings, url: str) -> AsyncIterator[ChaosBoard]:
    # The CLI reads the servers' configuration: a server that refuses chaos would not listen.
    if not armed(settings):
        raise LifeceoError("Fault injection is off: set LIFECEO_CHAOS_ENABLED=true (and, with "
                           "LIFECEO_ENV=production, LIFECEO_CHAOS_ALLOW_IN_PRODUCTION=true) for "
                           "the servers and this command.")
    engine = create_engine(settings, url)
    try:
        # Faults without services: this process only checks and announces them.
        async with opened_board(settings, engine, lambda hub: ChaosBoard(
                hub, every_kind(settings), role="cli",
                max_seconds=settings.chaos_max_seconds)) as board:
            yield board
    finally:
        await engine.dispose()
