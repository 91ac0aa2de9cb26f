"""`lifeceo search reindex` rewrites stale documents in batches and rebuilds what depends on the
configurations, on a database the application keeps using."""

import asyncio
import logging

import structlog
from sqlalchemy import text
from tests import factories
from tests.integration.community.test_search import post
from typer.testing import CliRunner

from lifeceo import cli
from lifeceo.settings import get_settings


def _reindex(database_url: str, *args: str):
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli.app, ["search", "reindex", *args],
                                  env={"LIFECEO_DATABASE_URL": database_url})
    finally:
        get_settings.cache_clear()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        structlog.reset_defaults()


async def test_reindex_restores_stale_documents(client, session, database_url):
    ana = await factories.user(client, "ana")
    written = [await post(client, ana, f"milonga número {n}") for n in range(3)]
    # A configuration change leaves stored vectors describing the old analysis; here, none.
    await session.execute(text("UPDATE posts SET search_vector = NULL"))
    await session.commit()
    search = {"q": "milonga", "type": "posts"}
    # As their author: one's own posts are ranked on the spot, never from the shared cache.
    assert (await client.get("/api/v1/search", params=search, headers=ana)).json()["items"] == []

    result = await asyncio.to_thread(_reindex, database_url, "--type", "posts")
    assert result.exit_code == 0, result.output
    assert "posts 3 rows rewritten" in result.output
    found = (await client.get("/api/v1/search", params=search, headers=ana)).json()["items"]
    assert sorted(item["post"]["id"] for item in found) == written

    result = await asyncio.to_thread(_reindex, database_url)
    assert result.exit_code == 0, result.output
    assert "users 1 rows rewritten" in result.output
    assert (await client.get("/api/v1/search", params={"q": "ana", "type": "users"})
            ).json()["items"][0]["user"]["username"] == "ana"


def test_reindex_refuses_an_unknown_type(database_url):
    result = _reindex(database_url, "--type", "groups")
    assert result.exit_code == 1
