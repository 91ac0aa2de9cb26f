"""The platform flags, seeded again after each test's tables were emptied."""

import pytest
from sqlalchemy import update
from tests.factories import user

from lifeceo.community.users.models import User
from lifeceo.platform.flags.defaults import ensure_defaults


@pytest.fixture
async def flags(app):
    """The app's store, holding freshly seeded platform flags."""
    await ensure_defaults(app.state.engine)
    await app.state.flags.reload()
    yield app.state.flags
    # The next test's tables are emptied: leave the snapshot as a fresh install has it.
    await ensure_defaults(app.state.engine)
    await app.state.flags.reload()


@pytest.fixture
async def admin(client, session, flags) -> dict[str, str]:
    headers = await user(client, "flag_admin")
    await session.execute(update(User).where(User.username == "flag_admin").values(is_admin=True))
    await session.commit()
    return headers
