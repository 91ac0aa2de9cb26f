import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from tests import factories

from lifeceo.community.events.models import Event, Rsvp
from lifeceo.community.notifications.models import Notification

EVENTS = "/api/v1/events"
NOW = datetime.now(UTC).replace(microsecond=0)


def moment(days: float, hours: float = 0) -> str:
    return (NOW + timedelta(days=days, hours=hours)).isoformat()


def event_body(**overrides) -> dict:
    body = {
        "title": "Milonga del Sur", "description": "Traditional tandas and cortinas.",
        "city": "Buenos Aires", "venue": "Club Sunderland", "starts_at": moment(7),
        "ends_at": moment(7, 5), "timezone": "America/Argentina/Buenos_Aires",
        "tags": ["milonga"], "price": "12.50", "capacity": None,
    }
    return body | overrides


async def create(client, headers, **overrides) -> dict:
    response = await client.post(EVENTS, json=event_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def rsvp_rows(session, event_id: int) -> dict[str, int]:
    """RSVPs actually stored, per status: what the counters must always equal."""
    await session.rollback()
    rows = await session.execute(select(Rsvp.status, func.count()).where(Rsvp.event_id == event_id)
                                 .group_by(Rsvp.status))
    return {"going": 0, "interested": 0} | dict(rows.all())


async def assert_counters_match_rows(client, session, event_id: int) -> dict:
    event = (await client.get(f"{EVENTS}/{event_id}")).json()
    rows = await rsvp_rows(session, event_id)
    assert (event["going_count"], event["interested_count"]) == (rows["going"], rows["interested"])
    return event


def assert_problem(response, *statuses: int) -> None:
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == response.status_code


async def test_create_read_edit_and_cancel(client):
    organizer = await factories.user(client, "organizer", display_name="Ana")
    created = await create(client, organizer, tags=["Tango", " tango", "Milonga"], price=12.5,
                           capacity=40, starts_at="2099-03-01T21:00:00-03:00",
                           ends_at="2099-03-02T02:00:00-03:00")
    assert created["organizer"] == {"username": "organizer", "display_name": "Ana"}
    assert created["tags"] == ["tango", "milonga"]
    assert created["price"] == "12.50"
    assert created["starts_at"] == "2099-03-02T00:00:00Z"
    assert (created["capacity"], created["spots_left"], created["going_count"]) == (40, 40, 0)
    assert created["my_rsvp"] is None and created["cancelled_at"] is None
    assert created["updated_at"] is None

    anonymous = (await client.get(f"{EVENTS}/{created['id']}")).json()
    assert anonymous == created

    edited = await client.patch(f"{EVENTS}/{created['id']}", headers=organizer, json={
        "title": "Milonga del Norte", "capacity": None, "price": "0", "tags": [],
        "ends_at": "2099-03-02T04:00:00-03:00"})
    assert edited.status_code == 200, edited.text
    edited = edited.json()
    assert edited["title"] == "Milonga del Norte"
    assert (edited["capacity"], edited["spots_left"]) == (None, None)
    assert (edited["price"], edited["tags"]) == ("0.00", [])
    assert edited["ends_at"] == "2099-03-02T07:00:00Z" and edited["updated_at"] is not None
    assert edited["city"] == created["city"]

    cancelled = await client.post(f"{EVENTS}/{created['id']}/cancel", headers=organizer)
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_at"] is not None
    again = await client.post(f"{EVENTS}/{created['id']}/cancel", headers=organizer)
    assert again.json()["cancelled_at"] == cancelled.json()["cancelled_at"]
    readable = await client.get(f"{EVENTS}/{created['id']}")
    assert readable.status_code == 200 and readable.json()["cancelled_at"] is not None
    refused_edit = await client.patch(f"{EVENTS}/{created['id']}", headers=organizer,
                                      json={"title": "Back on"})
    assert_problem(refused_edit, 409)
    refused_rsvp = await client.post(f"{EVENTS}/{created['id']}/rsvp", headers=organizer,
                                     json={"status": "going"})
    assert_problem(refused_rsvp, 409)
    assert (await client.get(f"{EVENTS}/{created['id']}")).json()["title"] == "Milonga del Norte"


async def test_only_the_organizer_edits_and_cancels(client, session):
    organizer = await factories.user(client, "owner")
    stranger = await factories.user(client, "stranger")
    created = await create(client, organizer)
    url = f"{EVENTS}/{created['id']}"

    assert_problem(await client.patch(url, headers=stranger, json={"title": "Mine now"}), 403)
    assert_problem(await client.post(f"{url}/cancel", headers=stranger), 403)
    assert_problem(await client.patch(url, json={"title": "Anonymous"}), 401)
    assert_problem(await client.post(f"{url}/cancel"), 401)
    assert_problem(await client.post(EVENTS, json=event_body()), 401)
    assert_problem(await client.patch(f"{EVENTS}/999999", headers=organizer, json={"title": "x"}),
                   404)
    assert_problem(await client.post(f"{EVENTS}/999999/cancel", headers=organizer), 404)
    assert_problem(await client.get(f"{EVENTS}/999999"), 404)
    assert_problem(await client.get(f"{EVENTS}/{2**63}"), 422)
    assert (await client.get(url)).json() == created
    assert await session.scalar(select(func.count()).select_from(Event)) == 1


BAD_BODIES = [
    {"title": ""},
    {"title": "x" * 201},
    {"title": None},
    {"description": "x" * 10_001},
    {"city": ""},
    {"city": "x" * 101},
    {"venue": "x" * 201},
    {"starts_at": "2099-01-01T20:00:00", "ends_at": "2099-01-01T23:00:00"},
    {"starts_at": "not a date"},
    {"starts_at": "0001-01-01T00:00:00+05:00"},
    {"ends_at": moment(6)},
    {"ends_at": moment(7)},
    {"timezone": "Mars/Olympus_Mons"},
    {"timezone": "../../etc/passwd"},
    {"timezone": "localtime"},
    {"timezone": ""},
    {"tags": [f"tag{i}" for i in range(11)]},
    {"tags": ["has space"]},
    {"tags": ["-leading-dash"]},
    {"tags": ["x" * 41]},
    {"tags": "milonga"},
    {"price": -1},
    {"price": "10.005"},
    {"price": "NaN"},
    {"price": "Infinity"},
    {"price": 100_000_000},
    {"price": True},
    {"capacity": 0},
    {"capacity": -5},
    {"capacity": 1_000_001},
    {"capacity": 2.5},
    {"capacity": "10"},
    {"organizer_id": 1},
    {"going_count": 3},
]


async def test_bad_event_input_is_a_problem_and_creates_nothing(client, session):
    organizer = await factories.user(client, "careful")
    for overrides in BAD_BODIES:
        response = await client.post(EVENTS, json=event_body(**overrides), headers=organizer)
        assert_problem(response, 422)
    missing = {key: value for key, value in event_body().items() if key != "starts_at"}
    assert_problem(await client.post(EVENTS, json=missing, headers=organizer), 422)
    malformed = await client.post(EVENTS, content=b"{not json", headers=organizer | {
        "content-type": "application/json"})
    assert_problem(malformed, 400)
    assert await session.scalar(select(func.count()).select_from(Event)) == 0


async def test_bad_edits_are_problems_and_change_nothing(client):
    organizer = await factories.user(client, "editor")
    guests = [await factories.user(client, f"guest{i}") for i in range(3)]
    created = await create(client, organizer, capacity=10)
    url = f"{EVENTS}/{created['id']}"
    for guest in guests:
        response = await client.post(f"{url}/rsvp", headers=guest, json={"status": "going"})
        assert response.is_success
    before = (await client.get(url)).json()

    for overrides in BAD_BODIES:
        assert_problem(await client.patch(url, headers=organizer, json=overrides), 422)
    for nulled in ("city", "starts_at", "timezone", "tags", "price", "description"):
        assert_problem(await client.patch(url, headers=organizer, json={nulled: None}), 422)
    # Each value is fine alone; only the merged event ends before it starts.
    assert_problem(await client.patch(url, headers=organizer, json={"starts_at": moment(8)}), 422)
    assert_problem(await client.patch(url, headers=organizer, json={"ends_at": moment(6)}), 422)
    below_going = await client.patch(url, headers=organizer, json={"capacity": 2})
    assert_problem(below_going, 409)
    assert below_going.json()["going_count"] == 3
    assert (await client.get(url)).json() == before

    exactly = await client.patch(url, headers=organizer, json={"capacity": 3})
    assert exactly.status_code == 200 and exactly.json()["spots_left"] == 0
    moved = await client.patch(url, headers=organizer,
                               json={"starts_at": moment(9), "ends_at": moment(9, 4)})
    assert moved.status_code == 200
    assert moved.json()["starts_at"] == moment(9).replace("+00:00", "Z")


async def list_titles(client, headers=None, **params) -> list[str]:
    response = await client.get(EVENTS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


async def test_list_filters(client):
    organizer = await factories.user(client, "lister")
    await create(client, organizer, title="ba-soon", city="Buenos Aires", starts_at=moment(1),
                 ends_at=moment(1, 4), tags=["milonga"])
    await create(client, organizer, title="ba-later", city="buenos aires", starts_at=moment(20),
                 ends_at=moment(20, 4), tags=["practica", "milonga"])
    await create(client, organizer, title="rosario", city="Rosario", starts_at=moment(5),
                 ends_at=moment(5, 4), tags=["festival"])
    await create(client, organizer, title="ba-past", city="Buenos Aires", starts_at=moment(-3),
                 ends_at=moment(-3, 4), tags=["milonga"])
    await create(client, organizer, title="ba-running", city="Buenos Aires",
                 starts_at=moment(0, -1), ends_at=moment(0, 3), tags=[])
    cancelled = await create(client, organizer, title="ba-cancelled", city="Buenos Aires",
                             starts_at=moment(2), ends_at=moment(2, 4))
    await client.post(f"{EVENTS}/{cancelled['id']}/cancel", headers=organizer)

    assert await list_titles(client) == ["ba-running", "ba-soon", "rosario", "ba-later"]
    assert await list_titles(client, city="BUENOS AIRES") == ["ba-running", "ba-soon", "ba-later"]
    assert await list_titles(client, city="Buenos") == []
    assert await list_titles(client, tag="Milonga") == ["ba-soon", "ba-later"]
    assert await list_titles(client, tag="milonga", include_past="true") == [
        "ba-past", "ba-soon", "ba-later"]
    assert await list_titles(client, **{"from": moment(3), "to": moment(20)}) == ["rosario"]
    assert await list_titles(client, **{"from": moment(1)}) == ["ba-soon", "rosario", "ba-later"]
    assert await list_titles(client, **{"to": moment(1)}) == ["ba-running"]
    assert await list_titles(client, include_cancelled="true", city="buenos aires") == [
        "ba-running", "ba-soon", "ba-cancelled", "ba-later"]
    assert await list_titles(client, include_past="true", include_cancelled="true",
                             **{"from": moment(-10), "to": moment(1)}) == [
        "ba-past", "ba-running"]

    for params in ({"from": moment(5), "to": moment(1)},):
        assert_problem(await client.get(EVENTS, params=params), 400, 422)
    for params in ({"from": "2099-01-01T00:00:00"}, {"to": "yesterday"}, {"tag": "no spaces"},
                   {"city": "x" * 101}, {"limit": 101}, {"limit": 0}, {"cursor": "garbage"},
                   {"include_past": "perhaps"}):
        assert_problem(await client.get(EVENTS, params=params), 400, 422)


async def test_pagination_visits_every_event_once_in_start_order(client):
    organizer = await factories.user(client, "pager")
    # Pairs share a start, so the id must break the tie for the cursor to be exact.
    for index in range(9):
        await create(client, organizer, title=f"event-{index}", starts_at=moment(1 + index // 2),
                     ends_at=moment(1 + index // 2, 3))
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(EVENTS, params=params)).json()
        assert len(page["items"]) <= 2
        seen += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"event-{index}" for index in range(9)]


async def test_listing_costs_the_same_queries_for_any_number_of_events(client, app):
    organizer = await factories.user(client, "counter")
    viewer = await factories.user(client, "viewer")
    statements = []

    def count(*_args) -> None:
        statements.append(1)

    async def queries_for_listing() -> int:
        statements.clear()
        sa_event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
        try:
            response = await client.get(EVENTS, headers=viewer)
        finally:
            sa_event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(statements)

    first = await create(client, organizer, title="first")
    await client.post(f"{EVENTS}/{first['id']}/rsvp", headers=viewer, json={"status": "going"})
    few = await queries_for_listing()
    for index in range(6):
        created = await create(client, organizer, title=f"more-{index}")
        await client.post(f"{EVENTS}/{created['id']}/rsvp", headers=viewer,
                          json={"status": "interested"})
    # The organizer's byline is cached by then: never more, whatever the number of events.
    assert await queries_for_listing() <= few
    items = (await client.get(EVENTS, headers=viewer)).json()["items"]
    assert [item["my_rsvp"] for item in items] == ["going"] + ["interested"] * 6
    assert {item["organizer"]["username"] for item in items} == {"counter"}
    assert all(item["my_rsvp"] is None for item in (await client.get(EVENTS)).json()["items"])


async def test_capacity_holds_under_concurrent_rsvps(client, session):
    organizer = await factories.user(client, "popular")
    dancers = [await factories.user(client, f"dancer{i}") for i in range(20)]
    created = await create(client, organizer, capacity=5)
    url = f"{EVENTS}/{created['id']}/rsvp"

    results = await asyncio.gather(*(client.post(url, headers=d, json={"status": "going"})
                                     for d in dancers))
    statuses = sorted(response.status_code for response in results)
    assert statuses == [200] * 5 + [409] * 15
    for refused in (r for r in results if r.status_code == 409):
        assert_problem(refused, 409)
    event = await assert_counters_match_rows(client, session, created["id"])
    assert (event["going_count"], event["spots_left"]) == (5, 0)

    # Interest is not limited, and a full event stays full for those turned away.
    turned_away = next(d for d, r in zip(dancers, results, strict=True) if r.status_code == 409)
    late = await client.post(url, headers=turned_away, json={"status": "interested"})
    assert late.status_code == 200 and late.json()["my_rsvp"] == "interested"
    assert_problem(await client.post(url, headers=turned_away, json={"status": "going"}), 409)
    assert (await client.get(f"{EVENTS}/{created['id']}", headers=turned_away)).json()[
        "my_rsvp"] == "interested"
    await assert_counters_match_rows(client, session, created["id"])


async def test_switching_repeating_and_withdrawing_rsvps(client, session):
    organizer = await factories.user(client, "host")
    dancer = await factories.user(client, "switcher")
    created = await create(client, organizer, capacity=1)
    url = f"{EVENTS}/{created['id']}/rsvp"

    steps = [("interested", 0, 1), ("interested", 0, 1), ("going", 1, 0), ("going", 1, 0),
             ("interested", 0, 1), ("going", 1, 0)]
    for status, going, interested in steps:
        response = await client.post(url, headers=dancer, json={"status": status})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["my_rsvp"], body["going_count"], body["interested_count"]) == (
            status, going, interested)
        await assert_counters_match_rows(client, session, created["id"])

    withdrawn = await client.delete(url, headers=dancer)
    assert withdrawn.status_code == 200
    assert (withdrawn.json()["my_rsvp"], withdrawn.json()["going_count"]) == (None, 0)
    assert (await client.delete(url, headers=dancer)).json()["going_count"] == 0
    await assert_counters_match_rows(client, session, created["id"])

    for body in ({"status": "maybe"}, {}, {"status": "going", "extra": 1}, {"status": None}):
        assert_problem(await client.post(url, headers=dancer, json=body), 422)
    assert_problem(await client.post(url, json={"status": "going"}), 401)
    assert_problem(await client.post(f"{EVENTS}/999999/rsvp", headers=dancer,
                                     json={"status": "going"}), 404)
    assert_problem(await client.delete(f"{EVENTS}/999999/rsvp", headers=dancer), 404)
    assert await rsvp_rows(session, created["id"]) == {"going": 0, "interested": 0}


async def test_concurrent_withdrawals_and_re_rsvps_keep_counters_exact(client, session):
    organizer = await factories.user(client, "steady")
    dancers = [await factories.user(client, f"racer{i}") for i in range(6)]
    created = await create(client, organizer, capacity=3)
    url = f"{EVENTS}/{created['id']}/rsvp"

    def burst(round_number: int):
        for index, dancer in enumerate(dancers):
            choice = (index + round_number) % 3
            if choice == 2:
                yield client.delete(url, headers=dancer)
            else:
                yield client.post(url, headers=dancer,
                                  json={"status": ("going", "interested")[choice]})

    for round_number in range(4):
        # Every dancer sends two conflicting requests at once, against everybody else's.
        results = await asyncio.gather(*burst(round_number), *burst(round_number + 1))
        assert {response.status_code for response in results} <= {200, 409}
        event = await assert_counters_match_rows(client, session, created["id"])
        assert event["going_count"] <= 3


async def test_cancelling_while_people_rsvp_keeps_counters_exact(client, session):
    organizer = await factories.user(client, "canceller")
    dancers = [await factories.user(client, f"hopeful{i}") for i in range(8)]
    created = await create(client, organizer, capacity=4)
    url = f"{EVENTS}/{created['id']}"
    results = await asyncio.gather(
        *(client.post(f"{url}/rsvp", headers=d, json={"status": "going"}) for d in dancers[:4]),
        client.post(f"{url}/cancel", headers=organizer),
        *(client.post(f"{url}/rsvp", headers=d, json={"status": "going"}) for d in dancers[4:]),
    )
    assert {response.status_code for response in results} <= {200, 409}
    await assert_counters_match_rows(client, session, created["id"])
    assert_problem(await client.post(f"{url}/rsvp", headers=dancers[0],
                                     json={"status": "interested"}), 409)
    await assert_counters_match_rows(client, session, created["id"])


async def test_no_rsvp_to_an_event_that_is_over(client, session):
    organizer = await factories.user(client, "historian")
    dancer = await factories.user(client, "latecomer")
    past = await create(client, organizer, starts_at=moment(-2), ends_at=moment(-2, 4))
    for status in ("going", "interested"):
        response = await client.post(f"{EVENTS}/{past['id']}/rsvp", headers=dancer,
                                     json={"status": status})
        assert_problem(response, 409)
    assert await rsvp_rows(session, past["id"]) == {"going": 0, "interested": 0}


async def test_new_rsvps_notify_the_organizer(client, session):
    organizer = await factories.user(client, "teacher")
    dancer = await factories.user(client, "student")
    created = await create(client, organizer)
    url = f"{EVENTS}/{created['id']}/rsvp"
    for headers, status in ((dancer, "interested"), (dancer, "going"), (organizer, "going")):
        assert (await client.post(url, headers=headers, json={"status": status})).is_success

    notes = (await client.get("/api/v1/notifications", headers=organizer)).json()["items"]
    assert [(n["kind"], n["actor"], n["subject_id"]) for n in notes] == [
        ("rsvp", "student", created["id"])]
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(Notification)) == 1


@pytest.mark.parametrize("status", ["going", "interested"])
async def test_attendees_are_paged_usernames(client, status):
    organizer = await factories.user(client, f"attendee_host_{status}")
    created = await create(client, organizer)
    url = f"{EVENTS}/{created['id']}"
    names = [f"{status[:5]}_{i}" for i in range(5)]
    for name in names:
        headers = await factories.user(client, name, display_name=name.upper())
        await client.post(f"{url}/rsvp", headers=headers, json={"status": status})
    other = "interested" if status == "going" else "going"
    outsider = await factories.user(client, f"other_{status}")
    await client.post(f"{url}/rsvp", headers=outsider, json={"status": other})

    seen, cursor = [], None
    while True:
        params = {"status": status, "limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get(f"{url}/attendees", params=params)
        assert response.status_code == 200, response.text
        seen += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [{"username": name, "display_name": name.upper()} for name in names]
    assert_problem(await client.get(f"{url}/attendees", params={"status": "maybe"}), 422)
    assert_problem(await client.get(f"{EVENTS}/999999/attendees"), 404)
