from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text
from tests import factories
from tests.integration.community.test_posts import out_of_range_cursor
from tests.statements import statements

from lifeceo.community.feed import repository as feed_repository
from lifeceo.community.posts.models import Post
from lifeceo.community.users.models import Follow, User
from lifeceo.platform.http.pagination import PageParams

FEED = "/api/v1/feed"
PUBLIC = "/api/v1/feed/public"


async def _post(client, headers, body: str, visibility: str = "public") -> int:
    response = await client.post("/api/v1/posts", headers=headers,
                                 json={"body": body, "visibility": visibility})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _bodies(client, url: str, headers=None) -> list[str]:
    response = await client.get(url, headers=headers or {})
    assert response.status_code == 200, response.text
    return [item["body"] for item in response.json()["items"]]


async def _walk(client, url: str, limit: int, headers=None) -> list[int]:
    """Every page of a feed, following next_cursor; the ids in order."""
    ids, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url + query, headers=headers or {})).json()
        assert len(page["items"]) <= limit
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def _user_id(session, username: str) -> int:
    return await session.scalar(select(User.id).where(User.username == username))


async def test_home_feed_holds_own_and_followed_posts_the_viewer_may_see(client):
    ana = await factories.user(client, "ana")
    bob = await factories.user(client, "bob")
    cyd = await factories.user(client, "cyd")
    assert (await client.post("/api/v1/users/bob/follow", headers=ana)).status_code == 200
    await _post(client, ana, "ana private", "private")
    await _post(client, bob, "bob public")
    await _post(client, bob, "bob followers", "followers")
    await _post(client, bob, "bob private", "private")
    await _post(client, cyd, "cyd public")
    await _post(client, ana, "ana public")

    assert await _bodies(client, FEED, ana) == [
        "ana public", "bob followers", "bob public", "ana private"]
    assert await _bodies(client, FEED, cyd) == ["cyd public"]
    assert await _bodies(client, FEED, bob) == ["bob private", "bob followers", "bob public"]
    anonymous = await client.get(FEED)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"


async def test_public_feed_and_timelines_respect_visibility(client):
    ana = await factories.user(client, "ana", display_name="Ana")
    fan = await factories.user(client, "fan")
    assert (await client.post("/api/v1/users/ana/follow", headers=fan)).status_code == 200
    liked = await _post(client, ana, "public")
    await _post(client, ana, "followers", "followers")
    await _post(client, ana, "private", "private")
    assert (await client.post(f"/api/v1/posts/{liked}/like", headers=fan)).status_code == 200

    for viewer in ({}, fan, ana):
        assert await _bodies(client, PUBLIC, viewer) == ["public"]
    timeline = "/api/v1/users/ANA/posts"
    assert await _bodies(client, timeline) == ["public"]
    assert await _bodies(client, timeline, fan) == ["followers", "public"]
    assert await _bodies(client, timeline, ana) == ["private", "followers", "public"]

    item = (await client.get(PUBLIC, headers=fan)).json()["items"][0]
    assert item["author"] == {"username": "ana", "display_name": "Ana"}
    assert (item["liked_by_me"], item["like_count"]) == (True, 1)
    assert (await client.get(PUBLIC)).json()["items"][0]["liked_by_me"] is False


async def test_pages_hold_every_post_once_even_when_timestamps_tie(client, session):
    ana = await factories.user(client, "ana")
    await factories.user(client, "bob")
    assert (await client.post("/api/v1/users/bob/follow", headers=ana)).status_code == 200
    ana_id, bob_id = await _user_id(session, "ana"), await _user_id(session, "bob")
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    # Three posts per timestamp, so that pages split inside a run of equal created_at.
    rows = [{"author_id": (ana_id, bob_id)[i % 2], "body": f"p{i}",
             "visibility": ("public", "followers")[i % 3 == 0],
             "created_at": moment - timedelta(seconds=i // 3)} for i in range(17)]
    ids = list(await session.scalars(insert(Post).returning(Post.id), rows))
    await session.commit()
    newest_first = [i for _, i in sorted(((r["created_at"], i) for r, i in zip(rows, ids)),
                                         reverse=True)]
    public_ids = [i for i in newest_first if rows[ids.index(i)]["visibility"] == "public"]

    for limit in (1, 2, 4, 100):
        assert await _walk(client, FEED, limit, ana) == newest_first
        assert await _walk(client, PUBLIC, limit) == public_ids
        assert await _walk(client, "/api/v1/users/bob/posts", limit, ana) == [
            i for i in newest_first if rows[ids.index(i)]["author_id"] == bob_id]




async def test_a_page_costs_the_same_few_queries_however_many_authors_it_shows(client, app):
    reader = await factories.user(client, "reader")

    async def add_authors(names):
        for name in names:
            headers = await factories.user(client, name)
            post = await _post(client, headers, f"by {name}")
            assert (await client.post(f"/api/v1/users/{name}/follow",
                                      headers=reader)).status_code == 200
            assert (await client.post(f"/api/v1/posts/{post}/like",
                                      headers=reader)).status_code == 200

    async def statements_per_page(url):
        with statements(app.state.engine) as seen:
            page = (await client.get(url, headers=reader)).json()
        assert all(item["liked_by_me"] for item in page["items"])
        return len(page["items"]), len(seen)

    await add_authors(["one", "two"])
    small = {url: await statements_per_page(url) for url in (FEED, PUBLIC)}
    await add_authors([f"author{i}" for i in range(10)])
    # The session lookup and whom the reader follows (both changed by each follow), the page,
    # the new authors' bylines and the viewer's likes; the public feed, read next, lists the
    # same posts, so it finds all but its page cached.
    expected = {FEED: 5, PUBLIC: 1}
    for url, (items, sent) in small.items():
        more_items, more_sent = await statements_per_page(url)
        assert (items, more_items) == (2, 12)
        assert sent == more_sent == expected[url], url


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


async def _plan(session, query) -> list[dict]:
    connection = await session.connection()
    compiled = query.compile(dialect=connection.dialect)
    result = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled.string}",
                                              compiled.params)
    return list(_nodes(result.scalar()[0]["Plan"]))


def _assert_walks_index(nodes: list[dict], index: str, *, merged: bool = False) -> None:
    """Posts are read from the index starting at the cursor, never scanned in full; only a
    merge of several index walks (the home feed) may sort, and only what they returned."""
    kinds = [(node["Node Type"], node.get("Relation Name"), node.get("Index Name"))
             for node in nodes]
    assert ("Index Scan", "posts", index) in kinds, kinds
    scan = next(node for node in nodes if node.get("Index Name") == index)
    assert "ROW(created_at, id) < ROW(" in scan["Index Cond"], scan["Index Cond"]
    assert not [kind for kind in kinds if kind[1] == "posts" and "Index" not in kind[0]], kinds
    if not merged:
        assert not [kind for kind in kinds if kind[0] == "Sort"], kinds


async def test_deep_pages_walk_the_indexes_without_sorting(client, session):
    author_ids = list(await session.scalars(insert(User).returning(User.id), [
        {"username": f"bulk{i}", "email": f"bulk{i}@example.org", "password_hash": "x"}
        for i in range(60)]))
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    await session.execute(insert(Post), [
        {"author_id": author_ids[i % 60], "body": f"post {i}",
         "visibility": ("public", "public", "followers", "private")[i % 4],
         "created_at": moment - timedelta(minutes=i)} for i in range(6000)])
    author, other = author_ids[7], author_ids[8]
    await session.execute(insert(Follow), [{"follower_id": author, "followee_id": followee}
                                           for followee in author_ids[20:40]]
                          + [{"follower_id": other, "followee_id": author}])
    await session.commit()
    await session.execute(text("ANALYZE posts"))
    await session.execute(text("ANALYZE follows"))

    public_cursor = (await session.execute(
        select(Post.created_at, Post.id).where(Post.visibility == "public")
        .order_by(Post.created_at.desc(), Post.id.desc()).offset(1500).limit(1))).one()
    public_page = PageParams(after=tuple(public_cursor), limit=20)
    _assert_walks_index(await _plan(session, feed_repository.public_query(public_page)),
                        "ix_posts_public_created")

    timeline_cursor = (await session.execute(
        select(Post.created_at, Post.id).where(Post.author_id == author)
        .order_by(Post.created_at.desc(), Post.id.desc()).offset(40).limit(1))).one()
    timeline_page = PageParams(after=tuple(timeline_cursor), limit=10)
    for relation in ("public", "self", "follower"):
        query = feed_repository.timeline_query(author_id=author, relation=relation,
                                               page=timeline_page)
        _assert_walks_index(await _plan(session, query), "ix_posts_author_created")

    # The home feed reads each followee's page from the author index, then merges them.
    home = feed_repository.home_query(viewer_id=author, author_ids=[author, *author_ids[20:40]],
                                      page=timeline_page)
    _assert_walks_index(await _plan(session, home), "ix_posts_author_created", merged=True)

    deep = await session.scalars(feed_repository.public_query(public_page))
    expected = list(await session.scalars(
        select(Post.id).where(Post.visibility == "public")
        .order_by(Post.created_at.desc(), Post.id.desc()).offset(1501).limit(21)))
    assert [post.id for post in deep] == expected


async def test_bad_feed_requests_are_4xx_problems(client):
    reader = await factories.user(client, "reader")
    for url in (FEED, PUBLIC, "/api/v1/users/reader/posts"):
        for query in ("cursor=garbage", f"cursor={out_of_range_cursor()}", "limit=101",
                      "limit=0", "limit=ten"):
            response = await client.get(f"{url}?{query}", headers=reader)
            assert response.status_code in (400, 422), (url, query)
            assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/api/v1/users/nobody/posts")).status_code == 404
    for name in ("a%00b", "x" * 31, "no"):
        assert (await client.get(f"/api/v1/users/{name}/posts")).status_code == 422, name
