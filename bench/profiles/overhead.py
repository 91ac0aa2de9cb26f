"""What request profiles add in-process: `python bench/profiles/overhead.py [--rounds N]`.

Per request: a trivial ASGI app (a 200 and its body) called bare, then inside ProfileMiddleware
(its context variable, the offer to the sample; all in one minute and route class, so the sample
is full and most offers are refused, as under load). Per statement: the SQL timer's listener
pair (metrics_db.StatementTimer) with profiles off and on, inside a request, histogram off so
that only the profile's share is measured. Prints the best of N rounds: the machine is shared,
and the best round is the one the fewest other processes slowed down."""

import argparse
import asyncio
import time
from types import SimpleNamespace

from lifeceo.platform.observability.metrics_db import StatementTimer
from lifeceo.platform.observability.profiles import ProfileMiddleware

REQUESTS = 50_000
STATEMENTS = 200_000
STATEMENT = "SELECT posts.id, posts.body FROM posts WHERE posts.id = %(id_1)s::INTEGER"
SCOPE = {"type": "http", "method": "GET", "path": "/api/v1/posts/1",
         "state": {"request_id": "bench"}}


async def trivial(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def receive() -> dict:
    return {"type": "http.request", "body": b""}


async def send(message: dict) -> None:
    return None


async def per_request_us(app) -> float:
    started = time.perf_counter()
    for _ in range(REQUESTS):
        await app(dict(SCOPE), receive, send)
    return (time.perf_counter() - started) / REQUESTS * 1e6


async def per_statement_us(timer: StatementTimer) -> float:
    """Inside one profiled request, as the listeners run for a route's statements."""
    elapsed = 0.0

    async def statements(scope, receive, send) -> None:
        nonlocal elapsed
        context = SimpleNamespace()
        started = time.perf_counter()
        for _ in range(STATEMENTS):
            timer.before(None, None, STATEMENT, None, context, False)
            timer.after(None, None, STATEMENT, None, context, False)
        elapsed = time.perf_counter() - started
        await trivial(scope, receive, send)

    await ProfileMiddleware(statements)(dict(SCOPE), receive, send)
    return elapsed / STATEMENTS * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    profiled = ProfileMiddleware(trivial)
    figures = {"request, bare": [], "request, ProfileMiddleware": [],
               "statement, profiles off": [], "statement, profiles on": []}
    for _ in range(rounds):
        figures["request, bare"].append(await per_request_us(trivial))
        figures["request, ProfileMiddleware"].append(await per_request_us(profiled))
        figures["statement, profiles off"].append(
            await per_statement_us(StatementTimer(histogram=False, profiles=False)))
        figures["statement, profiles on"].append(
            await per_statement_us(StatementTimer(histogram=False, profiles=True)))
    best = {name: min(values) for name, values in figures.items()}
    for name, value in best.items():
        print(f"{name:28} {value:6.2f} µs")
    print(f"{'profiles per request':28} "
          f"{best['request, ProfileMiddleware'] - best['request, bare']:6.2f} µs")
    print(f"{'profiles per statement':28} "
          f"{best['statement, profiles on'] - best['statement, profiles off']:6.2f} µs")


if __name__ == "__main__":
    asyncio.run(main())
