"""The board bounds every pull, whoever pulls (the API, the CLI, the monitor), and the stale
lever's classes come from the cache policy's table."""

import pytest

from lifeceo.errors import Unprocessable
from lifeceo.platform.chaos.board import ChaosBoard, every_kind
from lifeceo.platform.levers.board import LeverBoard
from lifeceo.platform.levers.stale import StaleReads
from lifeceo.settings import Settings


async def test_a_pull_past_the_board_s_bound_is_refused_before_anything_is_sent():
    # No hub: a refused pull publishes nothing.
    board = LeverBoard(None, [], role="web", max_seconds=60)
    with pytest.raises(Unprocessable, match="A lever lasts at most 60 s"):
        await board.pull("concurrency", target="search", value="on", seconds=61, actor="test")
    chaos = ChaosBoard(None, every_kind(Settings()), role="cli", max_seconds=600)
    with pytest.raises(Unprocessable, match="A fault lasts at most 600 s"):
        await chaos.inject("loop_blocker", magnitude=10, seconds=601, target=None, actor="test")


def test_the_stale_classes_are_the_cache_policy_s():
    stale = StaleReads(session_cookie="lifeceo_session")
    assert set(stale.classes) == {"feed", "posts", "events", "search"}
    stale.apply("search", "on", 2**40)
    signed_in = {"type": "http", "method": "GET", "path": "/api/v1/search",
                 "headers": [(b"authorization", b"Bearer x")]}
    assert stale.degraded_class(signed_in).name == "search"
    assert stale.degraded_class({**signed_in, "headers": []}) is None
    assert stale.degraded_class({**signed_in, "path": "/api/v1/search/suggest"}) is None
