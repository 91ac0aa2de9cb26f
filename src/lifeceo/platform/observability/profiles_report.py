"""Every process's request profiles, as the levers' report has every process's state: the asker
publishes a question on the live hub, every other process answers from its own sample, and the
asker merges the answers that arrive within a wait after its own. A process that does not answer
in time is absent; the answer counts those that did."""

import asyncio
import base64
import os
import socket
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from pydantic import ValidationError

from lifeceo.platform.observability.profiles import Order, ProfileStore
from lifeceo.platform.observability.profiles_schemas import (
    ProcessSample,
    ProfileDetail,
    ProfileScope,
    ProfilesPage,
    ProfileSummary,
)
from lifeceo.platform.pubsub import LiveHub, LiveMessage

log = structlog.get_logger(__name__)
ASK_TOPIC = "profiles:ask"
ANSWER_TOPIC = "profiles:answer"
# Profiles one process puts in a page (the endpoint's bound too).
MAX_LIMIT = 1000
# An answer travels as zlib-compressed JSON in base64 (routes and SQL fingerprints repeat, so a
# page compresses several times over), cut into parts that fit PostgreSQL's 8,000-byte NOTIFY
# (which the hub keeps for Redis too) beside the message's ~200 bytes of envelope.
PART_CHARS = 7_000
# ~220 KB of compressed answer per process, many times a page of 1,000 summaries; an answer
# past it keeps the first half of its items until it fits, and says so (`truncated`).
MAX_ANSWER_PARTS = 32
# What one answer may inflate to: a bad or hostile message cannot take the asker's memory.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
# The asker's subscription holds this many parts between two reads (a full one drops all that
# wait): every part of dozens of processes' answers arriving at once.
ANSWER_BUFFER_MESSAGES = 2_000
# How long the follower waits for a question before checking it is still wanted.
FOLLOW_WAIT_SECONDS = 60.0


def process_name() -> str:
    """host:pid, as the levers name a process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class ProfileQuery:
    """GET /admin/profiles' filter, as it travels to the other processes."""

    route: str | None = None
    min_duration_ms: float | None = None
    since: datetime | None = None
    order: Order = "newest"
    limit: int = 100

    def to_data(self) -> dict[str, Any]:
        return {"route": self.route, "min_duration_ms": self.min_duration_ms,
                "since": self.since.timestamp() if self.since is not None else None,
                "order": self.order, "limit": self.limit}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "ProfileQuery":
        since, duration = data.get("since"), data.get("min_duration_ms")
        return cls(route=str(data["route"]) if data.get("route") is not None else None,
                   min_duration_ms=float(duration) if duration is not None else None,
                   since=datetime.fromtimestamp(float(since), UTC) if since is not None else None,
                   order="slowest" if data.get("order") == "slowest" else "newest",
                   limit=_bounded(data.get("limit", 100)))


def _bounded(limit: Any) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


def merge(pages: list[list[ProfileSummary]], *, order: Order, limit: int) -> list[ProfileSummary]:
    """The processes' profiles in one order; among equals, the earlier page's first."""
    found = [summary for page in pages for summary in page]
    # sort is stable, reverse=True included: equal keys keep the pages' order.
    found.sort(key=(lambda summary: summary.started_at) if order == "newest"
               else (lambda summary: summary.duration_ms), reverse=True)
    return found[:limit]


def encode(body: dict[str, Any]) -> list[str]:
    """An answer's body in parts that each fit a live message."""
    text = base64.b64encode(zlib.compress(orjson.dumps(body))).decode("ascii")
    return [text[start:start + PART_CHARS] for start in range(0, len(text), PART_CHARS)]


def decode(parts: list[str]) -> dict[str, Any]:
    """The body `encode` cut into `parts`; ValueError if it is not one."""
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(base64.b64decode("".join(parts), validate=True),
                                  MAX_ANSWER_BYTES)
    except zlib.error as exc:
        raise ValueError(f"not a compressed answer: {exc}") from exc
    if inflater.unconsumed_tail:
        raise ValueError(f"answer over {MAX_ANSWER_BYTES} bytes")
    body = orjson.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("answer is not an object")
    return body


class Answers:
    """The parts of each process's answer to one question, until each is complete."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self._parts: dict[str, dict[int, str]] = {}

    def add(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """The body this part completes; None while incomplete, or for another question."""
        if data.get("reply") != self.reply:
            return None
        instance, part, parts, chunk = (data.get(key)
                                        for key in ("instance", "part", "parts", "body"))
        if not (isinstance(instance, str) and isinstance(part, int) and isinstance(parts, int)
                and isinstance(chunk, str) and 0 <= part < parts <= MAX_ANSWER_PARTS):
            return None
        received = self._parts.setdefault(instance, {})
        received[part] = chunk
        if len(received) < parts:
            return None
        del self._parts[instance]
        try:
            return decode([received[number] for number in range(parts)])
        except (ValueError, KeyError) as exc:
            log.warning("profiles answer ignored", error=str(exc)[:200])
            return None


class ProfileReport:
    def __init__(self, hub: LiveHub, store: ProfileStore, *, wait_seconds: float) -> None:
        """`store`: this process's sample, which it answers the others from; `wait_seconds`: how
        long a question waits for their answers."""
        self.store = store
        self.wait_seconds = wait_seconds
        self.process = process_name()
        # Two applications may share a process (tests); each answers for its own sample.
        self._instance = uuid.uuid4().hex
        self._hub = hub
        self._follower: asyncio.Task | None = None

    async def start(self) -> None:
        ready = asyncio.Event()
        self._follower = asyncio.create_task(self._follow(ready))
        await ready.wait()

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
            self._follower = None

    async def page(self, query: ProfileQuery, *, scope: ProfileScope = "all") -> ProfilesPage:
        """This process's matching profiles, with `all` merged with every answering one's."""
        # In a thread, as the answers are: the walk and fingerprinting of a full sample.
        mine, held = await asyncio.to_thread(self._local_page, query)
        pages = [mine]
        processes = [ProcessSample(process=self.process, capacity=self.store.capacity, held=held)]
        if scope == "all":
            for body in await self._ask("page", {"query": query.to_data()}):
                try:
                    sample = ProcessSample.model_validate(body["sample"])
                    items = [ProfileSummary.model_validate(item)
                             for item in body["items"][:query.limit]]
                except (KeyError, TypeError, ValidationError) as exc:
                    log.warning("profiles answer ignored", error=str(exc)[:200])
                    continue
                pages.append(items)
                processes.append(sample)
        return ProfilesPage(scope=scope, items=merge(pages, order=query.order, limit=query.limit),
                            processes=processes, answered=len(processes), pid=os.getpid(),
                            capacity=self.store.capacity, held=held)

    async def find(self, request_id: str, *, scope: ProfileScope = "all"
                   ) -> tuple[ProfileDetail | None, int]:
        """The profile of `request_id` here, else (`all`) from the first process that answers
        with it; and how many processes answered by then, this one included."""
        found = self._local_find(request_id)
        if found is not None or scope == "process":
            return found, 1
        answered = 1
        for body in await self._ask("find", {"request_id": request_id},
                                    enough=lambda body: body.get("profile") is not None):
            answered += 1
            if body.get("profile") is not None:
                try:
                    return ProfileDetail.model_validate(body["profile"]), answered
                except ValidationError as exc:
                    log.warning("profiles answer ignored", error=str(exc)[:200])
        return None, answered

    async def repeated(self, *, since: datetime, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Every answering process's kept requests since `since` that repeated a fingerprint
        (the N+1 rule), newest first, at most `limit`; and how many processes answered."""
        lists = [await asyncio.to_thread(self._local_repeated, since, limit)]
        for body in await self._ask("repeated", {"since": since.timestamp(), "limit": limit}):
            items = body.get("items")
            if isinstance(items, list):
                lists.append([item for item in items[:limit] if _started(item) is not None])
        found = [item for items in lists for item in items]
        found.sort(key=_started, reverse=True)
        return found[:limit], len(lists)

    def _local_page(self, query: ProfileQuery) -> tuple[list[ProfileSummary], int]:
        profiles, held = self.store.recent_and_held(
            since=query.since, route=query.route, min_duration_ms=query.min_duration_ms,
            order=query.order, limit=query.limit)
        return [ProfileSummary.of(profile, process=self.process) for profile in profiles], held

    def _local_find(self, request_id: str) -> ProfileDetail | None:
        profile = self.store.find(request_id)
        if profile is None:
            return None
        return ProfileDetail.of_process(profile, process=self.process, pid=os.getpid())

    def _local_repeated(self, since: datetime, limit: int) -> list[dict[str, Any]]:
        return [{"process": self.process, "request_id": profile.request_id,
                 "route": profile.route, "status": profile.status,
                 "started_at": profile.started_at.isoformat(),
                 "duration_ms": round(profile.duration_ms, 3),
                 "statements": [{"fingerprint": stats.fingerprint, "count": stats.count,
                                 "total_ms": stats.total_ms} for stats in repeated]}
                for profile, repeated in self.store.repeated_statements(since=since)[:limit]]

    async def _ask(self, op: str, question: dict[str, Any], *,
                   enough: Callable[[dict[str, Any]], bool] | None = None
                   ) -> list[dict[str, Any]]:
        """The other processes' answers that arrive within the wait, or until one is `enough`."""
        answers = Answers(uuid.uuid4().hex)
        bodies: list[dict[str, Any]] = []
        with self._hub.subscribe(ANSWER_TOPIC,
                                 buffer_messages=ANSWER_BUFFER_MESSAGES) as subscription:
            try:
                await self._hub.publish(LiveMessage(ASK_TOPIC, id=time.time_ns(), data={
                    "op": op, "reply": answers.reply, "instance": self._instance, **question}))
            except Exception as exc:  # noqa: BLE001 - the transport is down: this sample answers
                log.warning("profiles not asked of the other processes",
                            error=f"{type(exc).__name__}: {exc}"[:300])
                return bodies
            deadline = time.monotonic() + self.wait_seconds
            while (left := deadline - time.monotonic()) > 0:
                delivery = await subscription.receive(timeout_seconds=left)
                if delivery is None:
                    break
                for message in delivery.messages:
                    body = answers.add(message.data)
                    if body is not None:
                        bodies.append(body)
                        if enough is not None and enough(body):
                            return bodies
        return bodies

    async def _follow(self, ready: asyncio.Event) -> None:
        with self._hub.subscribe(ASK_TOPIC) as questions:
            ready.set()
            while not questions.closed:
                delivery = await questions.receive(timeout_seconds=FOLLOW_WAIT_SECONDS)
                for message in delivery.messages if delivery else ():
                    if message.data.get("instance") == self._instance:
                        continue
                    try:
                        await self._answer(message.data)
                    except Exception:  # one bad question must not stop the answers
                        log.exception("profiles question not answered", op=message.data.get("op"))

    async def _answer(self, data: dict[str, Any]) -> None:
        parts = await asyncio.to_thread(self._answer_parts, data)
        for number, chunk in enumerate(parts):
            await self._hub.publish(LiveMessage(ANSWER_TOPIC, id=time.time_ns(), data={
                "reply": str(data["reply"]), "instance": self._instance, "part": number,
                "parts": len(parts), "body": chunk}))

    def _answer_parts(self, data: dict[str, Any]) -> list[str]:
        body = self._answer_body(data)
        while len(parts := encode(body)) > MAX_ANSWER_PARTS:
            items = body.get("items")
            if not isinstance(items, list) or len(items) < 2:
                raise ValueError(f"a profiles answer of {len(parts)} parts")
            body["items"] = items[:len(items) // 2]
            body.get("sample", {})["truncated"] = True
        return parts

    def _answer_body(self, data: dict[str, Any]) -> dict[str, Any]:
        op = data.get("op")
        if op == "page":
            items, held = self._local_page(ProfileQuery.from_data(data["query"]))
            return {"sample": {"process": self.process, "capacity": self.store.capacity,
                               "held": held},
                    "items": [item.model_dump(mode="json") for item in items]}
        if op == "find":
            found = self._local_find(str(data["request_id"]))
            return {"profile": found.model_dump(mode="json") if found is not None else None}
        if op == "repeated":
            since = datetime.fromtimestamp(float(data["since"]), UTC)
            return {"items": self._local_repeated(since, _bounded(data["limit"]))}
        raise ValueError(f"unknown profiles question {op!r}")


def _started(item: Any) -> datetime | None:
    """When a repeated-statements item's request started; None if it does not say."""
    try:
        return datetime.fromisoformat(item["started_at"])
    except (TypeError, KeyError, ValueError):
        return None
