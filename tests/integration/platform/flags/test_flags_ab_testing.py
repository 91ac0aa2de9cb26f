"""a-b-testing, flipped at runtime: beta users get a sticky variant, recorded as an analytics
exposure each time the client is told it; off, nobody is in the experiment or exposed."""

from flipping import flip
from sqlalchemy import select, update
from tests.factories import user

from lifeceo.community.analytics.models import AnalyticsEvent
from lifeceo.community.users.models import User
from lifeceo.platform.flags import bucket


async def _exposures(app, session) -> list[tuple[int | None, str]]:
    await app.state.event_buffer.flush()
    rows = await session.execute(select(AnalyticsEvent.user_id, AnalyticsEvent.query)
                                 .where(AnalyticsEvent.kind == "exposure"))
    return sorted((row.user_id, row.query) for row in rows)


async def test_variants_for_beta_users_with_exposures(app, client, admin, session):
    tester = await user(client, "ab_tester")
    other = await user(client, "ab_other")
    await session.execute(update(User).where(User.username == "ab_tester")
                          .values(groups=["beta"]))
    await session.commit()
    tester_id = await session.scalar(select(User.id).where(User.username == "ab_tester"))
    other_id = await session.scalar(select(User.id).where(User.username == "ab_other"))
    # control and treatment weigh 50 each: the lower half of the variant buckets is control.
    expected = ("control" if bucket("a-b-testing#variant", f"user:{tester_id}") < 5_000
                else "treatment")
    for _ in range(3):
        seen = (await client.get("/api/v1/flags", headers=tester)).json()["flags"]["a-b-testing"]
        assert (seen["enabled"], seen["variant"]) == (True, expected)
    outside = (await client.get("/api/v1/flags", headers=other)).json()["flags"]["a-b-testing"]
    assert (outside["enabled"], outside["reason"]) == (False, "group")
    assert await _exposures(app, session) == [(tester_id, f"a-b-testing:{expected}")] * 3

    await flip(client, admin, "a-b-testing", enabled=False)
    seen = (await client.get("/api/v1/flags", headers=tester)).json()["flags"]["a-b-testing"]
    assert (seen["enabled"], seen["variant"]) == (False, "off")
    assert len(await _exposures(app, session)) == 3

    # Back on for everyone: the other user joins the experiment and is exposed too.
    await flip(client, admin, "a-b-testing", enabled=True, groups=[])
    joined = (await client.get("/api/v1/flags", headers=other)).json()["flags"]["a-b-testing"]
    assert joined["enabled"] is True
    assert (other_id, f"a-b-testing:{joined['variant']}") in await _exposures(app, session)
