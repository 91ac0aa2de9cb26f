"""What the monitor pulls: the lever board's levers, and beside them the monitor's own, which
act through the database or a service instead of travelling to every process (a flag
rollback, a statement cancelled, an index suggestion accepted). Approvals go through the same,
from the admin API or the command line."""

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lifeceo.platform.levers.board import Lever, Setting
from lifeceo.platform.monitor.actions import MONITOR_ACTOR, Levers
from lifeceo.platform.monitor.flag_rollback import FlagRollback
from lifeceo.platform.monitor.statement_actions import IndexSuggestion, QueryCancel


class OwnLever(Protocol):
    name: str

    def check(self, target: str, value: str) -> str:
        """The value normalised; raises NotFound or Unprocessable where it does not apply."""

    async def pull(self, target: str, value: str, *, actor: str) -> None: ...

    async def undo(self, target: str, *, actor: str) -> None: ...


class MonitorLevers:
    """A lever board with the monitor's own levers beside its levers. An own lever does not
    expire after a hold: what it did stays done (or, for a cancel, cannot be taken back)."""

    def __init__(self, board: Levers, own: list[OwnLever]) -> None:
        self.board = board
        self.own = {lever.name: lever for lever in own}

    def lever(self, name: str) -> Lever:
        return self.own[name] if name in self.own else self.board.lever(name)

    async def pull(self, name: str, *, target: str, value: str, seconds: int,
                   actor: str) -> Setting:
        if name not in self.own:
            return await self.board.pull(name, target=target, value=value, seconds=seconds,
                                         actor=actor)
        lever = self.own[name]
        value = lever.check(target, value)
        await lever.pull(target, value, actor=actor)
        return Setting(name, target, value, until=float("inf"))

    async def undo(self, name: str, *, target: str, actor: str) -> None:
        if name not in self.own:
            return await self.board.undo(name, target=target, actor=actor)
        await self.own[name].undo(target, actor=actor)


def monitor_levers(board: Levers, engine: AsyncEngine,
                   sessionmaker: async_sessionmaker[AsyncSession]) -> MonitorLevers:
    return MonitorLevers(board, [FlagRollback(sessionmaker, actor=MONITOR_ACTOR),
                                 QueryCancel(engine), IndexSuggestion()])
