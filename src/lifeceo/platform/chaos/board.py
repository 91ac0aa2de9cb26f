"""The chaos board: the levers' board on topics of its own, with the fault kinds as its levers,
a clock that expires faults and ticks the ones that act over time, and the log lines of
injections and clearings."""

import asyncio
import time

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.platform.cache import Cache
from lifeceo.platform.chaos.dependencies import RedisOutage, SlowDependency, install_hooks
from lifeceo.platform.chaos.fault import ALL, Fault
from lifeceo.platform.chaos.jobs import ColdCache, QueueStall
from lifeceo.platform.chaos.requests import DatabaseLatency, RouteErrors
from lifeceo.platform.chaos.resources import LoopBlocker, MemoryLeak, NPlusOne
from lifeceo.platform.levers.board import LeverBoard, Setting
from lifeceo.platform.pubsub import LiveHub
from lifeceo.platform.ratelimit import RateLimiter
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
TOPIC = "chaos"
# The clock's period: loop_blocker's and memory_leak's rates are per second of it, and a fault
# outlives its duration by at most this.
TICK_SECONDS = 1.0


def armed(settings: Settings) -> bool:
    """Whether faults may be injected here: enabled, and outside production unless allowed."""
    return settings.chaos_enabled and (settings.env != "production"
                                       or settings.chaos_allow_in_production)


def refusal(settings: Settings) -> str | None:
    """Why chaos is enabled but not armed (logged once at startup), else None."""
    if settings.chaos_enabled and not armed(settings):
        return ("LIFECEO_CHAOS_ENABLED is ignored with LIFECEO_ENV=production unless "
                "LIFECEO_CHAOS_ALLOW_IN_PRODUCTION=true is set too")
    return None


def every_kind(settings: Settings, *, engine: AsyncEngine | None = None,
               cache: Cache | None = None, rate_limiter: RateLimiter | None = None,
               route_errors: RouteErrors | None = None) -> list[Fault]:
    """One of each kind, over the services given: a process that only injects (the CLI) gives
    none and checks against them; a web process gives its own, which the faults act on."""
    return [DatabaseLatency(engine), route_errors or RouteErrors(), NPlusOne(), MemoryLeak(),
            LoopBlocker(),
            RedisOutage(redis_configured=settings.redis_url is not None, cache=cache,
                        rate_limiter=rate_limiter),
            QueueStall(), ColdCache(cache), SlowDependency()]


class ChaosBoard(LeverBoard):
    noun = "fault"
    pulled_event = "fault injected"
    undone_event = "fault cleared"

    def __init__(self, hub: LiveHub, faults: list[Fault], *, role: str,
                 max_seconds: int) -> None:
        super().__init__(hub, faults, role=role, max_seconds=max_seconds, topic=TOPIC)
        self._clock: asyncio.Task | None = None

    async def start(self) -> None:
        await super().start()
        self._clock = asyncio.create_task(self._tick(), name="chaos clock")

    async def close(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
            await asyncio.gather(self._clock, return_exceptions=True)
        for fault in self.levers.values():
            for target in list(fault.active):
                fault.release(target)
        await super().close()

    async def inject(self, kind: str, *, magnitude: float, seconds: int, target: str | None,
                     actor: str) -> Setting:
        """Start a fault in every process for `seconds`; logged once, here."""
        return await self.pull(kind, target=target or _default_target(self.lever(kind)),
                               value=f"{magnitude}", seconds=seconds, actor=actor)

    async def clear(self, kind: str | None = None, *, actor: str) -> list[Setting]:
        """End one kind's faults (every kind's when None) in every process; logged once."""
        if kind is not None:
            self.lever(kind)
        cleared = [setting for setting in self.settings()
                   if kind is None or setting.lever == kind]
        for setting in cleared:
            await self._withdraw(setting.lever, setting.target)
        log.warning("faults cleared", fault=kind or "all", actor=actor,
                    cleared=[f"{setting.lever}:{setting.target}" for setting in cleared])
        return cleared

    def _logged(self, setting: Setting) -> dict:
        return {"fault": setting.lever, "target": setting.target,
                "magnitude": float(setting.value), "unit": self.levers[setting.lever].unit}

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.time()
            for fault in self.levers.values():
                try:
                    fault.expire(now)
                    if fault.active:
                        await fault.tick(now)
                except Exception:  # one fault's failure must not stop the others' expiry
                    log.exception("fault tick failed", fault=fault.name)


def _default_target(fault: Fault) -> str:
    if fault.targets is None:
        return ""  # refused by check(): the kind needs a target of its own
    return ALL


async def follow_chaos(settings: Settings, hub: LiveHub) -> ChaosBoard | None:
    """A job worker's board, where chaos is armed, heard over the worker's live hub: the kinds
    that act in job workers (a stalled queue, slow SMTP)."""
    if not armed(settings):
        return None
    install_hooks()
    board = ChaosBoard(hub, [fault for fault in every_kind(settings) if fault.in_job_workers],
                       role="worker", max_seconds=settings.chaos_max_seconds)
    await board.start()
    return board
