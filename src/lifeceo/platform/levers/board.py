"""The levers of one process and how their settings travel: a change is applied here and
published on the live hub, and every process and node applies what it hears; a process that
starts asks the others for the settings in force; GET asks every process for its state."""

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.errors import NotFound, Unprocessable
from lifeceo.platform.flags import switches as flag_switches
from lifeceo.platform.pubsub import LiveHub, LiveMessage
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
TOPIC = "levers"
REPORT_TOPIC = "levers:report"
# How long the follower waits for a message before checking it is still wanted.
WAIT_SECONDS = 60.0


class Lever(Protocol):
    name: str

    def check(self, target: str, value: str) -> str:
        """The value normalised; raises Unprocessable for a target or value it cannot take."""

    def apply(self, target: str, value: str, until: float) -> None:
        """Take effect here until the wall-clock time `until`."""

    def release(self, target: str) -> None:
        """Undo here."""

    def state(self) -> dict:
        """What it does in this process now (small: it travels in a NOTIFY)."""


@dataclass(frozen=True)
class Setting:
    lever: str
    target: str
    value: str
    until: float

    def to_data(self) -> dict:
        return {"lever": self.lever, "target": self.target, "value": self.value,
                "until": self.until}


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class LeverBoard:
    # What it sets, and the log lines of a pull and an undo (fault injection's board names its
    # own).
    noun = "lever"
    pulled_event = "lever pulled"
    undone_event = "lever released"

    def __init__(self, hub: LiveHub, levers: list[Lever], *, role: str, max_seconds: int,
                 topic: str = TOPIC) -> None:
        """`max_seconds`: the longest a pull lasts, whoever pulls (the API, the CLI, the
        monitor); `topic`: a board of its own (fault injection's) travels on its own topics."""
        self.max_seconds = max_seconds
        self.topic = topic
        self.report_topic = f"{topic}:report"
        self.levers = {lever.name: lever for lever in levers}
        self.role = role
        self.process = process_name()
        # Two applications may share a process (tests); each board answers for itself.
        self._instance = uuid.uuid4().hex
        self._hub = hub
        self._settings: dict[tuple[str, str], Setting] = {}
        self._follower: asyncio.Task | None = None

    def lever(self, name: str) -> Lever:
        if name not in self.levers:
            raise NotFound(f"No lever {name!r}; the levers are {sorted(self.levers)}.")
        return self.levers[name]

    async def start(self) -> None:
        ready = asyncio.Event()
        self._follower = asyncio.create_task(self._follow(ready))
        await ready.wait()
        # Settings made before this process started are republished by those that hold them.
        try:
            await self._publish({"op": "sync"})
        except Exception as exc:  # a job worker starts while the database is still down
            log.warning("levers in force elsewhere not asked for", error=str(exc))

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)

    def settings(self) -> list[Setting]:
        """The settings in force, as this process knows them."""
        now = time.time()
        for key in [key for key, setting in self._settings.items() if setting.until <= now]:
            del self._settings[key]
        return sorted(self._settings.values(), key=lambda setting: (setting.lever, setting.target))

    async def pull(self, name: str, *, target: str, value: str, seconds: int,
                   actor: str) -> Setting:
        """Set a lever everywhere for `seconds` (at most max_seconds); logged once, here."""
        if seconds > self.max_seconds:
            raise Unprocessable(f"A {self.noun} lasts at most {self.max_seconds} s.")
        value = self.lever(name).check(target, value)
        setting = Setting(name, target, value, time.time() + seconds)
        self._apply(setting)
        await self._publish({"op": "set", **setting.to_data()})
        log.warning(self.pulled_event, **self._logged(setting), seconds=seconds, actor=actor)
        return setting

    async def undo(self, name: str, *, target: str, actor: str) -> None:
        self.lever(name)
        await self._withdraw(name, target)
        log.warning(self.undone_event, lever=name, target=target, actor=actor)

    def _logged(self, setting: Setting) -> dict:
        """A pull's fields in its log line."""
        return {"lever": setting.lever, "target": setting.target, "value": setting.value}

    async def _withdraw(self, name: str, target: str) -> None:
        """Undo here and everywhere, unlogged."""
        self._release(name, target)
        await self._publish({"op": "undo", "lever": name, "target": target})

    def state(self) -> dict:
        return {"process": self.process, "role": self.role,
                "levers": {name: lever.state() for name, lever in self.levers.items()}}

    async def report(self, *, wait_seconds: float) -> list[dict]:
        """The state of every process that answers within `wait_seconds`, this one's first."""
        reply = uuid.uuid4().hex
        states = [self.state()]
        with self._hub.subscribe(self.report_topic) as answers:
            await self._publish({"op": "report", "reply": reply})
            deadline = time.monotonic() + wait_seconds
            while (left := deadline - time.monotonic()) > 0:
                delivery = await answers.receive(timeout_seconds=left)
                if delivery is None:
                    break
                states.extend(message.data["state"] for message in delivery.messages
                              if message.data.get("reply") == reply
                              and message.data.get("instance") != self._instance)
        return states

    def _apply(self, setting: Setting) -> None:
        lever = self.levers.get(setting.lever)
        if lever is None or setting.until <= time.time():
            return  # a lever this process has not (a job worker's web levers), or expired
        self._settings[(setting.lever, setting.target)] = setting
        lever.apply(setting.target, setting.value, setting.until)

    def _release(self, name: str, target: str) -> None:
        self._settings.pop((name, target), None)
        if name in self.levers:
            self.levers[name].release(target)

    async def _publish(self, data: dict) -> None:
        await self._hub.publish(LiveMessage(self.topic, id=time.time_ns(), data=data))

    async def _follow(self, ready: asyncio.Event) -> None:
        with self._hub.subscribe(self.topic) as subscription:
            ready.set()
            while not subscription.closed:
                delivery = await subscription.receive(timeout_seconds=WAIT_SECONDS)
                for message in delivery.messages if delivery else ():
                    try:
                        await self._heard(message.data)
                    except Exception:  # one bad message must not stop the levers
                        log.exception("lever message not applied", data=message.data)

    async def _heard(self, data: dict) -> None:
        op = data.get("op")
        if op == "set":
            self._apply(Setting(data["lever"], data["target"], data["value"],
                                float(data["until"])))
        elif op == "undo":
            self._release(data["lever"], data["target"])
        elif op == "sync":
            for setting in self.settings():
                await self._publish({"op": "set", **setting.to_data()})
        elif op == "report":
            await self._hub.publish(LiveMessage(self.report_topic, id=time.time_ns(), data={
                "reply": data["reply"], "instance": self._instance, "state": self.state()}))


B = TypeVar("B", bound=LeverBoard)


@asynccontextmanager
async def opened_board(settings: Settings, engine: AsyncEngine,
                       board: Callable[[LiveHub], B]) -> AsyncIterator[B]:
    """A short-lived process's board (the CLI's) on a live hub of its own; both closed after."""
    hub = LiveHub.from_settings(settings, engine=engine,
                                prefer_redis=flag_switches.live_over_redis)
    try:
        await hub.start()
        started = board(hub)
        await started.start()
        try:
            yield started
        finally:
            await started.close()
    finally:
        await hub.close()
