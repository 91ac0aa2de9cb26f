"""The PostgreSQL engine's one statement per search: which matches become ranking candidates
(among the matches, or by walking the table past COUNT_CAP), the count it carries, and
statements shared by requests of one shape."""

import dataclasses

from sqlalchemy import insert, text

from lifeceo.community.search import repository
from lifeceo.community.search.documents import USERS
from lifeceo.community.users.models import User
from lifeceo.platform.search import SearchRequest, postgres_search_index
from lifeceo.platform.search.postgres import COUNT_CAP

# Five candidates at most: which five shows which path picked them.
FEW = dataclasses.replace(USERS, max_candidates=5)


async def add_people(session, count: int, *, city: str = "Rosario", start: int = 0) -> None:
    """People named milonguero{n}, each followed n times: the most followed are the newest."""
    await session.execute(insert(User), [
        {"username": f"milonguero{n}", "email": f"m{n}@example.com", "password_hash": "x",
         "display_name": "Milonguero", "city": city, "followers_count": n}
        for n in range(start, start + count)])
    await session.commit()


def request(*, city: str | None = None, limit: int = 3, offset: int = 0,
            text: str = "milonguero") -> SearchRequest:
    filters = repository.user_filters(city=city, role=None)
    return SearchRequest(text=text, limit=limit, offset=offset, filters=filters.expressions,
                         parameters=filters.parameters, shape=filters.shape,
                         tiebreak=(User.followers_count.desc(),))


async def followers(session, results) -> list[int]:
    """Each hit's number of followers, in the order of the hits."""
    rows = await session.execute(text("SELECT id, followers_count FROM users WHERE id = ANY(:ids)"),
                                 {"ids": [hit.id for hit in results.hits]})
    counts = dict(rows.all())
    return [counts[hit.id] for hit in results.hits]


async def test_up_to_the_cap_candidates_are_the_first_matches_in_tiebreak_order(app, session):
    await add_people(session, 40)
    results = await postgres_search_index.search(session, FEW, request(limit=10))
    assert (results.total_estimate, results.total_exact) == (40, True)
    # Equal text scores: the boost orders the five most followed.
    assert await followers(session, results) == [39, 38, 37, 36, 35]


async def test_past_the_cap_the_table_is_walked_in_tiebreak_order(app, session):
    await add_people(session, COUNT_CAP + 20)
    results = await postgres_search_index.search(session, FEW, request(limit=10))
    assert (results.total_estimate, results.total_exact) == (COUNT_CAP, False)
    top = COUNT_CAP + 19
    assert await followers(session, results) == [top, top - 1, top - 2, top - 3, top - 4]


async def test_an_exact_name_is_a_candidate_however_little_followed(app, session):
    await add_people(session, 40)
    results = await postgres_search_index.search(session, FEW, request(text="milonguero3"))
    assert await followers(session, results) == [3, 39, 38]


async def test_requests_of_one_shape_share_a_statement_not_their_values(app, session):
    await add_people(session, 10, city="Rosario")
    await add_people(session, 10, city="Córdoba", start=10)
    rosario = await postgres_search_index.search(session, USERS, request(city="rosario",
                                                                         limit=20))
    cordoba = await postgres_search_index.search(session, USERS, request(city="cordoba",
                                                                         limit=20))
    assert await followers(session, rosario) == list(range(9, -1, -1))
    assert await followers(session, cordoba) == list(range(19, 9, -1))


async def test_a_page_past_the_last_still_counts_the_matches(app, session):
    await add_people(session, 12)
    results = await postgres_search_index.search(session, USERS, request(limit=10, offset=20))
    assert results.hits == []
    assert (results.total_estimate, results.total_exact) == (12, True)


async def test_search_plans_without_jit_or_statistics_of_trigram_names(app, session):
    assert await session.scalar(text("SHOW jit")) == "off"
    targets = dict((await session.execute(text("""
        SELECT attrelid::regclass::text, attstattarget FROM pg_attribute
        WHERE (attrelid, attnum) IN (('users'::regclass, (SELECT attnum FROM pg_attribute
                                      WHERE attrelid = 'users'::regclass AND attname = 'username')),
                                     ('ix_users_display_name_trgm'::regclass, 1),
                                     ('ix_events_title_trgm'::regclass, 1))
    """))).all())
    assert targets == {"users": 0, "ix_users_display_name_trgm": 0, "ix_events_title_trgm": 0}
