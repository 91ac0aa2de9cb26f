"""A queue's gate under the queue lever and the queue_stall fault together: neither erases the
other, and a waiter gets its slot as soon as one is free (released, raised, or expired)."""

import asyncio
import time

import pytest

from lifeceo.platform.chaos.jobs import QueueStall
from lifeceo.platform.levers.queues import QueueConcurrency, open_gates
from lifeceo.platform.queue.gates import GATES, QueueGate, close_gates


@pytest.fixture
def gate():
    open_gates(["analytics"], concurrency={"analytics": 3})
    yield GATES["analytics"]
    close_gates()


async def test_lifting_a_stall_restores_the_lever_s_concurrency(gate):
    lever, stall = QueueConcurrency(min_concurrency=1, max_concurrency=20), QueueStall()
    lever.apply("analytics", "2", time.time() + 60)
    stall.apply("analytics", "1", time.time() + 60)
    assert gate.limit == 0
    stall.release("analytics")
    assert gate.limit == 2
    lever.release("analytics")
    assert gate.limit == 3


async def test_a_lever_pulled_during_a_stall_keeps_the_queue_stalled(gate):
    lever, stall = QueueConcurrency(min_concurrency=1, max_concurrency=20), QueueStall()
    stall.apply("all", "1", time.time() + 60)
    lever.apply("analytics", "5", time.time() + 60)
    assert gate.limit == 0
    lever.release("analytics")
    assert gate.limit == 0
    stall.release("all")
    assert gate.limit == 3


async def test_a_stall_on_one_target_outlives_the_release_of_another(gate):
    stall = QueueStall()
    stall.apply("all", "1", time.time() + 60)
    stall.apply("analytics", "1", time.time() + 60)
    stall.release("all")
    assert gate.limit == 0
    stall.release("analytics")
    assert gate.limit == 3


async def test_a_waiter_is_admitted_on_release_and_when_a_stall_expires():
    gate = QueueGate(1)
    await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0.01)
    assert not waiter.done() and gate.waiting == 1
    gate.release()
    assert await asyncio.wait_for(waiter, 1) is True
    assert (gate.running, gate.waiting) == (1, 0)

    gate.release()
    gate.stall(time.time() + 0.2)
    stalled = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0.05)
    assert not stalled.done()
    # Nobody announces the expiry: the gate's own timer lets the waiter in.
    assert await asyncio.wait_for(stalled, 1) is True
    gate.close()


async def test_a_cancelled_waiter_leaves_no_count_behind():
    gate = QueueGate(1)
    await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0.01)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert (gate.running, gate.waiting) == (1, 0)
    gate.resize(2, until=time.time() + 60)
    assert await asyncio.wait_for(gate.acquire(), 1) is True
    gate.close()
