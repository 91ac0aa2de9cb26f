"""One monitor of all evaluates: two monitors (each with its own engine, as two processes
would have), only the lock holder evaluates, and when its connection dies the other takes over
within an interval; a paused monitor gives the lock up."""

import asyncio
import time

import psycopg
import pytest
from tests.waiting import eventually

from lifeceo.platform.db.engine import create_engine, create_sessionmaker
from lifeceo.platform.db.lease import lock_url
from lifeceo.platform.monitor.leader import Monitor

INTERVAL_SECONDS = 0.5


async def terminate(app, conn: psycopg.AsyncConnection) -> None:
    pid = conn.info.backend_pid
    async with await psycopg.AsyncConnection.connect(lock_url(app.state.settings),
                                                     autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


async def until(condition, timeout: float) -> None:
    async def met() -> bool:
        return condition()

    await eventually(met, timeout=timeout)


class Counted(Monitor):
    """A monitor that counts its evaluations."""

    evaluations = 0

    async def evaluate(self):
        outcome = await super().evaluate()
        if outcome is not None:
            self.evaluations += 1
        return outcome


@pytest.fixture
async def two(app):
    settings = app.state.settings.model_copy(
        update={"monitor_interval_seconds": INTERVAL_SECONDS})
    engines = [create_engine(settings, settings.database_url) for _ in range(2)]
    paused = {"value": False}
    running = [Counted.start(settings, engine, create_sessionmaker(engine),
                             paused=lambda: paused["value"]) for engine in engines]
    yield running, paused
    for monitor in running:
        await monitor.close()
    for engine in engines:
        await engine.dispose()


async def test_one_leader_evaluates_and_another_takes_over_within_an_interval(app, two):
    running, _ = two
    await until(lambda: any(m.evaluations >= 3 for m in running), timeout=10)
    [leader] = [m for m in running if m.is_leader]
    [follower] = [m for m in running if not m.is_leader]
    assert follower.evaluations == 0
    assert leader.last is not None and follower.last is None

    await terminate(app, leader.lease.conn)
    died = time.monotonic()
    await until(lambda: follower.is_leader, timeout=5)
    # The follower's next tick finds the lock free: within one interval (plus the tick's work).
    assert time.monotonic() - died < INTERVAL_SECONDS * 2
    before = follower.evaluations
    await until(lambda: follower.evaluations > before, timeout=5)
    # The old leader finds its connection gone, tries again on a new one, and follows.
    await asyncio.sleep(INTERVAL_SECONDS * 3)
    assert not leader.is_leader
    assert [m.is_leader for m in running].count(True) == 1


async def test_a_paused_monitor_gives_up_the_lock(app, two):
    running, paused = two
    await until(lambda: any(m.is_leader for m in running), timeout=10)
    paused["value"] = True
    await until(lambda: not any(m.is_leader for m in running), timeout=5)
    counts = [m.evaluations for m in running]
    await asyncio.sleep(INTERVAL_SECONDS * 3)
    assert [m.evaluations for m in running] == counts
    paused["value"] = False
    await until(lambda: any(m.is_leader for m in running), timeout=5)
