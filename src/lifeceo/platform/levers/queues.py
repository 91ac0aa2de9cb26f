"""The lever `queue`: a queue's concurrency in every job worker, within the configured bounds."""

from lifeceo.errors import Unprocessable
from lifeceo.platform.levers.board import LeverBoard
from lifeceo.platform.pubsub import LiveHub
from lifeceo.platform.queue.gates import GATES, QueueGate
from lifeceo.platform.queue.queues import QUEUES
from lifeceo.settings import Settings


class QueueConcurrency:
    name = "queue"

    def __init__(self, *, min_concurrency: int, max_concurrency: int) -> None:
        self.min_concurrency = min_concurrency
        self.max_concurrency = max_concurrency

    def check(self, target: str, value: str) -> str:
        if target not in QUEUES:
            raise Unprocessable(f"No queue {target!r}; the queues are {sorted(QUEUES)}.")
        if not value.isdigit() or not (self.min_concurrency <= int(value)
                                       <= self.max_concurrency):
            raise Unprocessable(f"A queue's concurrency is a whole number from "
                                f"{self.min_concurrency} to {self.max_concurrency}.")
        return str(int(value))

    def apply(self, target: str, value: str, until: float) -> None:
        if target in GATES:
            GATES[target].resize(int(value), until=until)

    def release(self, target: str) -> None:
        if target in GATES:
            GATES[target].resize(None)

    def state(self) -> dict:
        # Empty in a web process: its jobs (inline) are not gated.
        return {queue: {"concurrency": gate.limit, "default": gate.default,
                        "running": gate.running, "waiting": gate.waiting}
                for queue, gate in sorted(GATES.items())}


def open_gates(queues: list[str], *, concurrency: dict[str, int]) -> None:
    """A gate for each queue this worker process runs, at the queue's concurrency."""
    GATES.clear()
    GATES.update({queue: QueueGate(concurrency[queue]) for queue in queues})


async def follow_levers(settings: Settings, hub: LiveHub) -> LeverBoard:
    """A job worker's board: the queue lever, heard over the worker's live hub."""
    board = LeverBoard(hub, [QueueConcurrency(min_concurrency=settings.jobs_concurrency_min,
                                              max_concurrency=settings.jobs_concurrency_max)],
                       role="worker", max_seconds=settings.levers_max_seconds)
    await board.start()
    return board
