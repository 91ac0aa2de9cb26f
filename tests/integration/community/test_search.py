"""Search over posts, people and events on the real PostgreSQL: language, operators, typos,
highlights, filters."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update
from tests import factories

from lifeceo.community.events.models import Event
from lifeceo.community.posts.models import Post
from lifeceo.community.search.tasks import refresh_search_terms
from lifeceo.community.users.models import User
from lifeceo.platform.search.models import search_term_changes

SEARCH = "/api/v1/search"


async def post(client, headers, body, *, tags=(), visibility="public") -> int:
    response = await client.post("/api/v1/posts", headers=headers, json={
        "body": body, "tags": list(tags), "visibility": visibility})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def event(client, headers, title, *, city="Buenos Aires", days=10, price="0", **fields) -> int:
    starts = datetime.now(UTC) + timedelta(days=days)
    response = await client.post("/api/v1/events", headers=headers, json={
        "title": title, "city": city, "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(),
        "timezone": "America/Argentina/Buenos_Aires", "price": price, **fields})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def found(client, q, *, headers=None, **params) -> list:
    response = await client.get(SEARCH, params={"q": q, **params}, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def post_ids(items) -> set[int]:
    return {item["post"]["id"] for item in items if item["type"] == "post"}


async def test_accents_fold_both_ways(client):
    ana = await factories.user(client, "ana")
    musica = await post(client, ana, "Noche de música en vivo con la orquesta típica")
    cafe = await post(client, ana, "We met at the cafe after the milonga")
    assert post_ids(await found(client, "musica", type="posts")) == {musica}
    assert post_ids(await found(client, "MÚSICA", type="posts")) == {musica}
    assert post_ids(await found(client, "café", type="posts")) == {cafe}


async def test_spanish_and_english_stemming(client):
    ana = await factories.user(client, "ana")
    es = await post(client, ana, "Las milongas de los viernes son las mejores de la ciudad")
    en = await post(client, ana, "The dancers were dancing all night at the festival")
    assert post_ids(await found(client, "milonga", type="posts")) == {es}
    assert post_ids(await found(client, "dance", type="posts")) == {en}


async def test_phrase_or_and_exclusion(client):
    ana = await factories.user(client, "ana")
    both = await post(client, ana, "La cumparsita y el choclo sonaron en la milonga")
    cumparsita = await post(client, ana, "Bailamos la cumparsita al final de la noche")
    choclo = await post(client, ana, "El choclo es un tango muy antiguo de la guardia vieja")
    reversed_ = await post(client, ana, "Sonaron choclo y cumparsita, vieja guardia")
    assert post_ids(await found(client, "cumparsita -choclo", type="posts")) == {cumparsita}
    assert post_ids(await found(client, "cumparsita OR choclo", type="posts")) == {
        both, cumparsita, choclo, reversed_}
    assert post_ids(await found(client, '"guardia vieja"', type="posts")) == {choclo}
    assert post_ids(await found(client, "cumparsita choclo", type="posts")) == {both, reversed_}


async def test_typo_is_corrected_with_did_you_mean(client, app):
    """On a platform whose first post is about tango, with no job run in between."""
    ana = await factories.user(client, "ana")
    tango = await post(client, ana, "Clases de tango para principiantes", tags=["tango"])
    response = await client.get(SEARCH, params={"q": "tnago", "type": "posts"})
    body = response.json()
    assert body["did_you_mean"] == "tango"
    assert post_ids(body["items"]) == {tango}
    # A query that matches as typed is not corrected.
    assert (await client.get(SEARCH, params={"q": "tango"})).json()["did_you_mean"] is None


async def test_misspelt_names_match_by_trigrams(client):
    await factories.user(client, "gardelito", display_name="Carlos Gardel")
    await factories.user(client, "other")
    names = [item["user"]["username"] for item in await found(client, "Gardell", type="users")]
    assert names == ["gardelito"]


async def test_highlights_mark_hits_and_escape_html(client):
    ana = await factories.user(client, "ana")
    await post(client, ana, '<script>alert(1)</script> tango & "milonga" <3 \ue000 tonight')
    [hit] = await found(client, "milonga", type="posts")
    assert "<mark>milonga</mark>" in hit["snippet"]
    assert "<script>" not in hit["snippet"]
    assert "&amp;" in hit["snippet"] and "&quot;" in hit["snippet"] and "&lt;3" in hit["snippet"]
    assert "\ue000" not in hit["snippet"]


async def test_exact_username_and_title_come_first(client):
    for name in ("ana_maria", "anabel", "ana"):
        await factories.user(client, name, display_name="Ana")
    items = await found(client, "ana", type="users")
    assert items[0]["user"]["username"] == "ana"
    org = await factories.user(client, "org")
    await event(client, org, "Milonga del Sur", days=3)
    title = await event(client, org, "Milonga", days=20)
    await event(client, org, "Milonga de los Lunes Milonga", days=5)
    assert (await found(client, "milonga", type="events"))[0]["event"]["id"] == title


async def test_post_filters(client, session):
    ana = await factories.user(client, "ana")
    bo = await factories.user(client, "bob")
    tagged = await post(client, ana, "tango tonight", tags=["vals", "milonga"])
    other_tag = await post(client, ana, "tango again", tags=["vals"])
    by_bo = await post(client, bo, "tango with bo")
    old = await post(client, bo, "old tango")
    await session.execute(update(Post).where(Post.id == old)
                          .values(created_at=datetime(2020, 1, 1, tzinfo=UTC)))
    await session.commit()
    assert post_ids(await found(client, "tango", type="posts", author="ana")) == {tagged, other_tag}
    assert post_ids(await found(client, "tango", type="posts", author="nobody")) == set()
    assert post_ids(await found(client, "tango", type="posts",
                                tag=["vals", "milonga"])) == {tagged}
    assert post_ids(await found(client, "tango", type="posts",
                                posted_before="2021-01-01T00:00:00Z")) == {old}
    assert post_ids(await found(client, "tango", type="posts",
                                posted_after="2021-01-01T00:00:00Z")) == {tagged, other_tag, by_bo}


async def test_people_filters(client):
    await factories.user(client, "ana", display_name="Ana Tango", city="Córdoba", roles=["dj"])
    await factories.user(client, "bea", display_name="Bea Tango", city="Rosario",
                         roles=["leader"])
    def names(items):
        return {item["user"]["username"] for item in items}
    assert names(await found(client, "tango", type="users", city="cordoba")) == {"ana"}
    assert names(await found(client, "tango", type="users", role="leader")) == {"bea"}
    assert names(await found(client, "tango", type="users")) == {"ana", "bea"}


async def test_event_filters_and_upcoming_by_default(client, session):
    org = await factories.user(client, "org")
    cheap = await event(client, org, "Milonga barata", city="Rosario", price="5", days=3)
    dear = await event(client, org, "Milonga cara", city="Buenos Aires", price="50", days=30)
    cancelled = await event(client, org, "Milonga cancelada", days=4)
    assert (await client.post(f"/api/v1/events/{cancelled}/cancel", headers=org)).status_code == 200
    organizer_id = await session.scalar(select(User.id).where(User.username == "org"))
    past = await session.scalar(insert(Event).values(
        organizer_id=organizer_id, title="Milonga pasada", city="Rosario",
        starts_at=datetime(2020, 1, 1, tzinfo=UTC), ends_at=datetime(2020, 1, 2, tzinfo=UTC),
        timezone="UTC").returning(Event.id))
    await session.commit()

    def ids(items):
        return {item["event"]["id"] for item in items}
    assert ids(await found(client, "milonga", type="events")) == {cheap, dear}
    assert ids(await found(client, "milonga", type="events", include_past="true")) == {
        cheap, dear, past}
    assert ids(await found(client, "milonga", type="events", city="ROSARIO")) == {cheap}
    assert ids(await found(client, "milonga", type="events", price_max="10")) == {cheap}
    assert ids(await found(client, "milonga", type="events", price_min="10")) == {dear}
    soon = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    assert ids(await found(client, "milonga", type="events", starts_before=soon)) == {cheap}
    assert ids(await found(client, "milonga", type="events", starts_after=soon)) == {dear}


async def test_all_types_pagination_and_total(client):
    ana = await factories.user(client, "ana", display_name="Tango Ana")
    for number in range(7):
        await post(client, ana, f"tango number {number}")
    org = await factories.user(client, "org")
    await event(client, org, "Tango festival")
    first = (await client.get(SEARCH, params={"q": "tango", "limit": 4})).json()
    assert first["total_estimate"] == 9 and first["total_exact"]
    assert {item["type"] for item in first["items"]} <= {"post", "user", "event"}
    second = (await client.get(SEARCH, params={"q": "tango", "limit": 4,
                                              "cursor": first["next_cursor"]})).json()
    third = (await client.get(SEARCH, params={"q": "tango", "limit": 4,
                                             "cursor": second["next_cursor"]})).json()
    assert third["next_cursor"] is None
    seen = [(item["type"], item["score"]) for page in (first, second, third)
            for item in page["items"]]
    assert len(seen) == 9
    assert [score for _, score in seen] == sorted((score for _, score in seen), reverse=True)


async def test_rename_reaches_the_authors_posts_in_the_same_transaction(client):
    ana = await factories.user(client, "ana")
    written = await post(client, ana, "una milonga")
    # Logged in: anonymous rankings are cached for 30 s.
    assert post_ids(await found(client, "Piazzolla", type="posts", headers=ana)) == set()
    assert (await client.patch("/api/v1/me", headers=ana,
                               json={"display_name": "Astor Piazzolla"})).status_code == 200
    assert post_ids(await found(client, "Piazzolla", type="posts", headers=ana)) == {written}


async def test_cached_anonymous_rankings_never_show_what_became_hidden(client):
    ana = await factories.user(client, "ana")
    kept = await post(client, ana, "milonga en Boedo")
    hidden = await post(client, ana, "milonga en Almagro")
    assert post_ids(await found(client, "milonga", type="posts")) == {kept, hidden}
    assert (await client.patch(f"/api/v1/posts/{hidden}", headers=ana,
                               json={"visibility": "private"})).status_code == 200
    assert (await client.delete(f"/api/v1/posts/{kept}", headers=ana)).status_code == 204
    # The ranking comes from the cache; its posts are checked again as they are presented.
    assert post_ids(await found(client, "milonga", type="posts")) == set()
    assert post_ids(await found(client, "milonga", type="posts", headers=ana)) == {hidden}


async def test_signed_in_searchers_share_the_public_ranking_and_add_their_own(client):
    ana = await factories.user(client, "ana")
    bea = await factories.user(client, "bea")
    cho = await factories.user(client, "cho")
    assert (await client.post("/api/v1/users/ana/follow", headers=bea)).status_code in (200, 204)
    public = await post(client, ana, "cortina de vals")
    for_followers = await post(client, ana, "cortina para seguidores", visibility="followers")
    assert post_ids(await found(client, "cortina", type="posts", headers=cho)) == {public}
    # cho's search cached the public ranking; bea follows ana, and sees her followers' post.
    assert post_ids(await found(client, "cortina", type="posts", headers=bea)) == {
        public, for_followers}
    # A new public post is shared once the cached ranking expires, but its author finds it now.
    newest = await post(client, ana, "cortina nueva")
    assert post_ids(await found(client, "cortina", type="posts", headers=ana)) == {
        public, for_followers, newest}
    assert post_ids(await found(client, "cortina", type="posts", headers=cho)) == {public}
    assert post_ids(await found(client, "cortina", headers=bea)) == {public, for_followers}


async def test_suggest_completes_usernames_and_words(client, app):
    ana = await factories.user(client, "milonguera")
    await post(client, ana, "milongas y milonguitas en Almagro")
    items = (await client.get(f"{SEARCH}/suggest", params={"q": "milon"})).json()["items"]
    assert items[0] == "@milonguera"
    assert {"milongas", "milonguitas"} <= set(items)
    fuzzy = (await client.get(f"{SEARCH}/suggest", params={"q": "almagor"})).json()["items"]
    assert "almagro" in fuzzy


async def test_private_words_never_reach_the_vocabulary(client, app):
    ana = await factories.user(client, "ana")
    await post(client, ana, "zzsecretword", visibility="private")
    await post(client, ana, "zzsecretword", visibility="followers")
    items = (await client.get(f"{SEARCH}/suggest", params={"q": "zzsecret"})).json()["items"]
    assert items == []


async def test_words_leave_the_vocabulary_when_their_post_does_not_stay_public(client, app):
    ana = await factories.user(client, "ana")
    hidden = await post(client, ana, "zzvanishing zzshared")
    deleted = await post(client, ana, "zzdeleted zzshared")
    assert (await client.get(SEARCH, params={"q": "zzvanishng"})).json()["did_you_mean"] == (
        "zzvanishing")
    response = await client.patch(f"/api/v1/posts/{hidden}", headers=ana,
                                  json={"visibility": "private"})
    assert response.status_code == 200, response.text
    assert (await client.delete(f"/api/v1/posts/{deleted}", headers=ana)).status_code == 204
    suggested = (await client.get(f"{SEARCH}/suggest", params={"q": "zzvan"})).json()["items"]
    assert suggested == []
    assert (await client.get(SEARCH, params={"q": "zzdeleted"})).json()["did_you_mean"] is None
    # A word another public post still holds stays, whatever the job has folded.
    still = await post(client, ana, "zzshared again")
    await refresh_search_terms(app.state.jobs)
    assert "zzshared" in (await client.get(f"{SEARCH}/suggest",
                                           params={"q": "zzsha"})).json()["items"]
    assert (await client.delete(f"/api/v1/posts/{still}", headers=ana)).status_code == 204
    assert (await client.get(f"{SEARCH}/suggest", params={"q": "zzsha"})).json()["items"] == []


@pytest.mark.parametrize("bad", [
    {"q": "x" * 201}, {"q": ""}, {"q": "tango", "type": "groups"}, {"q": "tango", "limit": 0},
    {"q": "tango", "cursor": "bm90IG9uZQ"}, {"q": "tango", "role": "singer"},
])
async def test_bad_parameters_are_problems(client, bad):
    response = await client.get(SEARCH, params=bad)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_periodic_job_folds_changes_without_changing_the_vocabulary(client, app):
    author = await factories.user(client, "vocab")
    response = await client.post("/api/v1/posts", headers=author, json={
        "body": "Zambomba milonguera tonight", "visibility": "public"})
    assert response.status_code == 201, response.text
    before = (await client.get("/api/v1/search", params={"q": "zambonba"})).json()
    await refresh_search_terms(app.state.jobs)
    async with app.state.engine.connect() as connection:
        pending = await connection.scalar(select(func.count()).select_from(
            search_term_changes))
    assert pending == 0
    corrected = await client.get("/api/v1/search", params={"q": "zambonba"})
    assert corrected.status_code == 200
    assert before["did_you_mean"] == corrected.json()["did_you_mean"] == "zambomba"
