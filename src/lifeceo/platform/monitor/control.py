"""The monitor from the command line: the service on a short-lived engine, as the admin API
answers (lifeceo monitor status | incidents | actions | approve | reject). An approval pulls its
lever from here over the live hub, the way `lifeceo chaos inject` announces a fault: every
running process checks nothing more and applies what it hears."""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.errors import Conflict
from lifeceo.platform.db.engine import create_engine, create_sessionmaker
from lifeceo.platform.flags import switches as flag_switches
from lifeceo.platform.flags.store import FlagStore
from lifeceo.platform.levers.board import LeverBoard, opened_board
from lifeceo.platform.levers.recycle import ANY
from lifeceo.platform.monitor import actions as action_set
from lifeceo.platform.monitor import repository
from lifeceo.platform.monitor.own_levers import monitor_levers
from lifeceo.platform.monitor.schemas import Incident, MonitorActionReport, MonitorStatus
from lifeceo.platform.monitor.service import monitor_service
from lifeceo.settings import Settings

ACTOR = "cli"


class Relayed:
    """A lever this process only announces: its value goes out as given (or, for a recycle of
    "any", as the worker chosen), and the running processes apply it."""

    def __init__(self, name: str, *, chosen: str | None = None) -> None:
        self.name = name
        self._chosen = chosen

    def check(self, target: str, value: str) -> str:
        if self.name != "recycle" or target != ANY:
            return value
        if self._chosen is None:
            raise Conflict("No web worker under `lifeceo serve`'s supervisor answered; none "
                           "can be recycled.")
        return self._chosen

    def apply(self, target: str, value: str, until: float) -> None:
        pass

    def release(self, target: str) -> None:
        pass

    def state(self) -> dict:
        return {}


async def status(settings: Settings, url: str) -> MonitorStatus:
    async with _session(settings, url) as (engine, session):
        # As the servers evaluate it: from the stored definition, for no one in particular.
        flags = FlagStore(engine=engine)
        await flags.reload()
        return await monitor_service.status(session=session, settings=settings, monitor=None,
                                            paused=flag_switches.monitoring_paused(flags))


async def incidents(settings: Settings, url: str, *, state: str | None,
                    limit: int) -> list[Incident]:
    async with _session(settings, url) as (_, session):
        return await monitor_service.incidents(session=session, state=state, before=None,
                                               limit=limit)


async def actions(settings: Settings, url: str, *, outcome: str | None,
                  limit: int) -> list[MonitorActionReport]:
    async with _session(settings, url) as (_, session):
        return await monitor_service.actions(session=session, outcome=outcome, limit=limit)


async def approve(settings: Settings, url: str, *, action_id: int) -> MonitorActionReport:
    async with _session(settings, url) as (engine, session), _board(settings, engine) as board:
        row = await repository.action(session, action_id)
        chosen = None
        if row is not None and row.lever == "recycle" and row.target == ANY:
            chosen = await supervised_worker(settings, board)
        board.levers = {action.lever: Relayed(action.lever, chosen=chosen)
                        for action in action_set.catalogue(settings)}
        # The monitor's own levers (a cancel, a suggestion) act from here, not over the hub.
        levers = monitor_levers(board, engine, create_sessionmaker(engine))
        approved = await monitor_service.approve(session=session, action_id=action_id,
                                                 settings=settings, levers=levers, actor=ACTOR)
        await session.commit()
        if approved.outcome == "failed":
            raise Conflict(f"Action {action_id} failed: {approved.note}")
        return approved


async def reject(settings: Settings, url: str, *, action_id: int,
                 note: str) -> MonitorActionReport:
    async with _session(settings, url) as (_, session):
        rejected = await monitor_service.reject(session=session, action_id=action_id,
                                                actor=ACTOR, note=note)
        await session.commit()
        return rejected


async def supervised_worker(settings: Settings, board: LeverBoard) -> str | None:
    """A web worker that reports a supervisor, as "host:pid"; None if none answered."""
    processes = await board.report(wait_seconds=settings.levers_report_wait_ms / 1000)
    return next((each["process"] for each in processes[1:] if each.get("role") == "web"
                 and each.get("levers", {}).get("recycle", {}).get("supervised")), None)


def _board(settings: Settings, engine: AsyncEngine
           ) -> AbstractAsyncContextManager[LeverBoard]:
    return opened_board(settings, engine, lambda hub: LeverBoard(
        hub, [], role="cli", max_seconds=settings.levers_max_seconds))


@asynccontextmanager
async def _session(settings: Settings, url: str
                   ) -> AsyncIterator[tuple[AsyncEngine, AsyncSession]]:
    engine = create_engine(settings, url)
    try:
        async with create_sessionmaker(engine)() as session:
            yield engine, session
    finally:
        await engine.dispose()
