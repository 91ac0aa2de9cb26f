"""Hearing that the process was asked to exit. uvicorn, on SIGTERM or SIGINT, stops accepting
connections and then waits for every open response before it shuts the application down, so a
live stream, which never ends by itself, would hold each worker for the whole graceful-shutdown
timeout (or for ever without one). Ending the streams when the signal arrives lets it go at once;
clients reconnect to another worker with Last-Event-ID."""

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ExitSignal:
    """Calls `callback` on the running loop when an exit signal arrives, then the handler that
    was there before (uvicorn's). Does nothing where no handler waits for the signal: off the
    main thread, or where the signal simply kills the process."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback = callback
        self._installed: list[tuple[signal.Signals, object, object]] = []

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in EXIT_SIGNALS:
            previous = signal.getsignal(signum)
            if not callable(previous):
                continue

            def handler(number: int, frame: FrameType | None, previous=previous) -> None:
                loop.call_soon_threadsafe(self._callback)
                previous(number, frame)

            signal.signal(signum, handler)
            self._installed.append((signum, previous, handler))

    def remove(self) -> None:
        """Put the previous handlers back, unless someone replaced ours meanwhile."""
        for signum, previous, handler in reversed(self._installed):
            if signal.getsignal(signum) is handler:
                signal.signal(signum, previous)
        self._installed.clear()
