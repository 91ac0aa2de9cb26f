"""`lifeceo flags list | set | kill` against the test database, heard by the running app."""

import asyncio
import logging

import pytest
import structlog
from sqlalchemy import select
from tests.waiting import eventually
from typer.testing import CliRunner

from lifeceo import cli
from lifeceo.platform.flags.models import FlagAudit
from lifeceo.settings import get_settings


@pytest.fixture
def run():
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level

    def invoke(*args: str):
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli.app, list(args))
        finally:
            get_settings.cache_clear()
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
            structlog.reset_defaults()

    # The commands run their own event loop, which cannot nest in the test's.
    return lambda *args: asyncio.to_thread(invoke, *args)


async def test_list_set_and_kill_reach_the_running_app_within_a_second(run, flags, app):
    listed = await run("flags", "list")
    assert listed.exit_code == 0, listed.output
    assert "predictive-caching" in listed.output and "websocket-scaling" in listed.output

    changed = await run("flags", "set", "predictive-caching", "--disabled", "--rollout", "40",
                        "--groups", "beta,staff")
    assert changed.exit_code == 0, changed.output
    definition = lambda: flags.definition("predictive-caching")

    async def heard() -> bool:
        return definition().version == 2

    # The app's listener hears the CLI's NOTIFY: no request, no resync.
    await eventually(heard, timeout=1.0)
    assert (definition().enabled, float(definition().rollout_percentage),
            definition().groups) == (False, 40.0, ("beta", "staff"))

    killed = await run("flags", "kill", "predictive-caching")
    assert killed.exit_code == 0 and "KILLED" in killed.output

    async def killed_heard() -> bool:
        return definition().killed

    await eventually(killed_heard, timeout=1.0)
    assert (await run("flags", "kill", "predictive-caching", "--clear")).exit_code == 0
    async with app.state.engine.connect() as connection:
        actors = (await connection.execute(
            select(FlagAudit.actor, FlagAudit.action).where(
                FlagAudit.flag_key == "predictive-caching").order_by(FlagAudit.id))).all()
    assert [tuple(row) for row in actors] == [("system", "create"), ("cli", "update"),
                                              ("cli", "kill"), ("cli", "unkill")]


async def test_bad_input_fails_cleanly_and_changes_nothing(run, flags):
    for args in (("flags", "set", "predictive-caching", "--rollout", "150"),
                 ("flags", "set", "predictive-caching", "--groups", "Not Valid"),
                 ("flags", "set", "predictive-caching"),
                 ("flags", "set", "no-such-flag", "--enabled"),
                 ("flags", "kill", "no-such-flag")):
        result = await run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "error" in result.output
    await flags.reload()
    assert flags.definition("predictive-caching").version == 1
