"""The backstop: a change no process announced (a lost message, a hand-written UPDATE) is picked
up by the periodic reread."""

from sqlalchemy import text
from tests.waiting import eventually

from lifeceo.platform.flags import FlagStore


async def test_an_unannounced_change_is_picked_up_by_the_resync(app, flags):
    store = FlagStore(engine=app.state.engine)
    await store.reload()
    store.follow(app.state.live, resync_seconds=0.3)
    try:
        assert store.is_enabled("virtual-scrolling") is True
        async with app.state.engine.begin() as connection:
            await connection.execute(text(
                "UPDATE feature_flags SET enabled = false, version = version + 1 "
                "WHERE key = 'virtual-scrolling'"))

        async def reread() -> bool:
            return store.is_enabled("virtual-scrolling") is False

        await eventually(reread, timeout=3)
        # The app's own store heard nothing either, and its resync is a day away.
        assert flags.is_enabled("virtual-scrolling") is True
    finally:
        await store.close()
