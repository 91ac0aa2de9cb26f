"""One load per key at a time in a process; callers arriving meanwhile await its result."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class SingleFlight:
    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[bytes]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._flights

    async def join(self, key: str) -> bytes | None:
        """The result of the load in progress for `key`; None when there is none (so lead one).
        The leader's exception is raised to every caller that joined it."""
        while (flight := self._flights.get(key)) is not None:
            try:
                return await asyncio.shield(flight)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if flight.cancelled() and not (task is not None and task.cancelling()):
                    # The leader's request was cancelled, not ours: join or lead the next load.
                    continue
                raise
        return None

    async def lead(self, key: str, load: Callable[[], Awaitable[tuple[bytes, T]]]) -> tuple[bytes, T]:
        """Run `load` as the one load of `key`; its bytes are what joiners receive. Call only after
        `join` returned None, with no await in between."""
        flight: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            result = await load()
        except Exception as exc:
            flight.set_exception(exc)
            # Marks the exception retrieved: when nobody joined, asyncio must not log it again.
            flight.exception()
            raise
        except BaseException:
            flight.cancel()
            raise
        else:
            flight.set_result(result[0])
            return result
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
