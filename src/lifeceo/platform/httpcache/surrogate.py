"""Surrogate keys: the entities a response shows (Surrogate-Key and xkey headers) and a client
that purges them from Varnish when they change."""

import asyncio
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import httpx
import structlog

from lifeceo.platform.observability.outgoing import OUTGOING

log = structlog.get_logger(__name__)

# Comma-separated Varnish addresses that accept PURGE, e.g. "http://127.0.0.1:6081/".
PURGE_URLS_SETTING = "LIFECEO_VARNISH_PURGE_URLS"
PURGE_HEADER = "xkey-purge"
# Keys travel in header values separated by spaces (xkey also splits on commas).
VALID_KEY = re.compile(r"^[A-Za-z0-9_.:@-]{1,200}$")
# Varnish rejects request and response headers longer than 8 KiB (http_req_hdr_len,
# http_resp_hdr_len); stay well below so that a header is never the reason a fetch fails.
MAX_HEADER_BYTES = 4096
# A purge to Varnish on the same host or LAN takes a millisecond; past this it is abandoned.
PURGE_TIMEOUT_SECONDS = 1.0

_collected: ContextVar[set[str] | None] = ContextVar("lifeceo_surrogate_keys", default=None)


def add_surrogate_keys(*keys: str) -> None:
    """Names entities that the current response shows (reads) or changed (writes), e.g. "post:12".

    Outside a request that collects keys this does nothing."""
    for key in keys:
        if not VALID_KEY.match(key):
            raise ValueError(f"not a valid surrogate key: {key!r}")
    collected = _collected.get()
    if collected is not None:
        collected.update(keys)


@contextmanager
def collecting_surrogate_keys() -> Iterator[set[str]]:
    """The keys add_surrogate_keys receives inside the block (and in tasks it starts)."""
    keys: set[str] = set()
    token = _collected.set(keys)
    try:
        yield keys
    finally:
        _collected.reset(token)


def header_values(keys: Iterable[str]) -> list[str]:
    """The keys as space-separated header values, each under MAX_HEADER_BYTES."""
    values: list[str] = []
    current = ""
    for key in sorted(set(keys)):
        if current and len(current) + 1 + len(key) > MAX_HEADER_BYTES:
            values.append(current)
            current = key
        else:
            current = f"{current} {key}" if current else key
    return [*values, current] if current else values


class VarnishPurger:
    """Sends `PURGE` with the keys in an xkey-purge header to every configured Varnish; never
    raises, logs each address's failures once when they start and once when they end."""

    def __init__(self, urls: Sequence[str], *,
                 timeout_seconds: float = PURGE_TIMEOUT_SECONDS) -> None:
        for url in urls:
            if httpx.URL(url).scheme not in ("http", "https"):
                raise ValueError(f"{PURGE_URLS_SETTING}: not an http(s) URL: {url!r}")
        self.urls = tuple(urls)
        self.timeout_seconds = timeout_seconds
        self.failures = 0
        self._failing: set[str] = set()
        # Made now, not on the first write: building one takes longer than a purge may delay it.
        self._client: httpx.AsyncClient | None = self._new_client()
        self._pending: set[asyncio.Task] = set()

    @property
    def healthy(self) -> bool:
        """Whether every address answered its latest purge."""
        return not self._failing

    def purge(self, keys: Iterable[str]) -> asyncio.Task | None:
        """Starts purging in the background; the task may be awaited, it never raises."""
        values = header_values(keys)
        if not values or not self.urls:
            return None
        task = asyncio.create_task(self._purge_all(values))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def aclose(self) -> None:
        if self._pending:
            # Each purge ends within timeout_seconds of its start, which was before now; the
            # margin is for a busy event loop.
            _, late = await asyncio.wait(self._pending, timeout=2 * self.timeout_seconds)
            for task in late:
                task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _purge_all(self, values: list[str]) -> None:
        if self._client is None:
            self._client = self._new_client()
        await asyncio.gather(*(self._purge(url, value) for url in self.urls for value in values))

    def _new_client(self) -> httpx.AsyncClient:
        # trust_env off: a purge must reach Varnish itself, never a proxy from the environment.
        return httpx.AsyncClient(timeout=self.timeout_seconds, trust_env=False)

    async def _purge(self, url: str, keys: str) -> None:
        started = time.perf_counter()
        try:
            # httpx's timeout bounds each phase (connect, write, read); this bounds the whole.
            response = await asyncio.wait_for(
                self._client.request("PURGE", url, headers={PURGE_HEADER: keys}),
                self.timeout_seconds)
            problem = None if response.is_success else f"HTTP {response.status_code}"
        except (httpx.HTTPError, TimeoutError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        OUTGOING.record("varnish", seconds=time.perf_counter() - started,
                        failed=problem is not None)
        if problem is None:
            if url in self._failing:
                self._failing.discard(url)
                log.info("varnish purge recovered", url=url)
            return
        self.failures += 1
        if url not in self._failing:
            self._failing.add(url)
            log.warning("varnish purge failing; cached pages stay until they expire", url=url,
                        problem=problem)


def purger_for(purge_urls: str) -> VarnishPurger | None:
    """The purger for comma-separated Varnish addresses (settings.varnish_purge_urls), or None."""
    urls = [url.strip() for url in purge_urls.split(",") if url.strip()]
    return VarnishPurger(urls) if urls else None
