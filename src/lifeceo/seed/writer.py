"""Bulk inserts of generated rows in one transaction, then counters recomputed from the rows."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.progress import Progress
from sqlalchemy import (
    Connection,
    Numeric,
    bindparam,
    cast,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from lifeceo.community.events.models import Event, Rsvp
from lifeceo.community.posts.models import Comment, Like, Post
from lifeceo.community.users.models import Follow, User
from lifeceo.platform.db.engine import sqlalchemy_url
from lifeceo.seed.generate import RowGenerator

# Rows per executemany call: large enough for multi-row VALUES pages, small enough that the
# progress bar moves.
BATCH_ROWS = 5_000
DEMO_PASSWORD = "tango-demo-2024"


class SeedError(RuntimeError):
    """The data could not be added (nothing was)."""


@dataclass(frozen=True)
class SeedSummary:
    users: int
    follows: int
    posts: int
    likes: int
    comments: int
    events: int
    rsvps: int
    first_username: str | None


def shared_password_hash() -> str:
    """One argon2 hash of the demo password shared by every seeded user: 10k hashes take minutes."""
    from lifeceo.community.users.passwords import hasher

    return hasher.hash(DEMO_PASSWORD)


def seed_database(url: str, *, users: int, posts: int, events: int, seed: int,
                  progress: Progress | None = None) -> SeedSummary:
    engine = create_sync_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as connection:
            # Bulk statements over 100k rows may outlast a request-sized timeout.
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            summary = _seed(connection, RowGenerator(seed=seed, now=datetime.now(UTC)),
                            users=users, posts=posts, events=events, progress=progress)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SET statement_timeout = 0"))
            # Without statistics the planner guesses: until autovacuum came round, a search on
            # the fresh 100k posts took seconds instead of milliseconds. Vacuumed as well: the
            # first reads of fresh rows write their hint bits, and autovacuum comes round soon
            # after a bulk insert; both made the first benchmark after seeding 5x slower.
            connection.execute(text("VACUUM (ANALYZE)"))
            # The seeded words' vocabulary changes folded at once rather than by the next job:
            # until then every correction would sum them.
            connection.execute(text("SELECT lifeceo_search_terms_fold()"))
        return summary
    except IntegrityError as exc:
        raise SeedError(
            f"seeding clashed with existing rows, nothing was added: {exc.orig}") from exc
    finally:
        engine.dispose()


def next_user_number(connection: Connection) -> int:
    """One past the highest `userNNNNN` already present, so that repeated seeds add on top."""
    number = cast(func.substring(User.username, r"^user([0-9]+)$"), Numeric)
    highest = connection.scalar(select(func.max(number)).where(User.username.regexp_match(
        r"^user[0-9]+$")))
    return int(highest or 0) + 1


def _seed(connection: Connection, generator: RowGenerator, *, users: int, posts: int, events: int,
          progress: Progress | None) -> SeedSummary:
    writer = _BatchWriter(connection, progress)
    user_rows = generator.users(first_number=next_user_number(connection), count=users,
                                password_hash=shared_password_hash() if users else "")
    user_ids = writer.insert("users", User, user_rows, returning=User.id)
    follows = writer.insert("follows", Follow, generator.follows(user_ids))
    if user_ids:
        people = list(zip(user_ids, (row["city"] for row in user_rows)))
    else:
        people = [tuple(row) for row in connection.execute(
            select(User.id, User.city).order_by(User.id))]
    author_ids = [user_id for user_id, _city in people]

    post_rows = generator.posts(author_ids, posts)
    post_ids = writer.insert("posts", Post, post_rows, returning=Post.id)
    post_keys = list(zip(post_ids, (row["created_at"] for row in post_rows)))
    likes = writer.insert("likes", Like, generator.likes(post_keys, author_ids))
    comments = writer.insert("comments", Comment, generator.comments(post_keys, author_ids))

    event_rows = generator.events(people, events)
    event_ids = writer.insert("events", Event, event_rows, returning=Event.id)
    capacities = list(zip(event_ids, (row["capacity"] for row in event_rows)))
    rsvps = writer.insert("rsvps", Rsvp, generator.rsvps(capacities, author_ids))

    _recount(connection, user_ids=user_ids, post_ids=post_ids, event_ids=event_ids)
    return SeedSummary(
        users=len(user_ids), follows=len(follows), posts=len(post_ids), likes=len(likes),
        comments=len(comments), events=len(event_ids), rsvps=len(rsvps),
        first_username=user_rows[0]["username"] if user_rows else None,
    )


class _BatchWriter:
    def __init__(self, connection: Connection, progress: Progress | None) -> None:
        self.connection = connection
        self.progress = progress

    def insert(self, label: str, table, rows: list[dict], *, returning=None) -> list:
        """Insert in batches; returns the `returning` column in row order, else the rows."""
        task = self.progress.add_task(label, total=len(rows)) if self.progress else None
        returned = []
        for start in range(0, len(rows), BATCH_ROWS):
            batch = rows[start:start + BATCH_ROWS]
            if returning is None:
                self.connection.execute(_unnest_insert(table, batch))
            else:
                result = self.connection.execute(
                    insert(table).returning(returning, sort_by_parameter_order=True), batch)
                returned.extend(result.scalars())
            if task is not None:
                self.progress.advance(task, len(batch))
        return returned if returning is not None else rows


def _unnest_insert(table, rows: list[dict]):
    """INSERT ... SELECT FROM unnest(arrays): one statement and one array per column, which
    PostgreSQL parses once instead of once per row (scalar columns only)."""
    columns = [table.__table__.c[name] for name in rows[0]]
    arrays = [bindparam(column.name, [row[column.name] for row in rows], type_=ARRAY(column.type))
              for column in columns]
    source = select(func.unnest(*arrays).table_valued(*(c.name for c in columns)).render_derived())
    return insert(table).from_select(columns, source)


def _count(column, key) -> object:
    counted = select(func.count()).where(column == key).correlate_except(column.table)
    return counted.scalar_subquery()


def _recount(connection: Connection, *, user_ids: Sequence[int], post_ids: Sequence[int],
             event_ids: Sequence[int]) -> None:
    """Set the denormalised counters of the new rows to their real row counts, set-based."""
    if user_ids:
        connection.execute(update(User).where(User.id.between(min(user_ids), max(user_ids))).values(
            followers_count=_count(Follow.followee_id, User.id),
            following_count=_count(Follow.follower_id, User.id)))
    if post_ids:
        connection.execute(update(Post).where(Post.id.between(min(post_ids), max(post_ids))).values(
            like_count=_count(Like.post_id, Post.id),
            comment_count=_count(Comment.post_id, Post.id)))
    if event_ids:
        going = select(func.count()).where(Rsvp.event_id == Event.id, Rsvp.status == "going")
        interested = select(func.count()).where(Rsvp.event_id == Event.id,
                                                Rsvp.status == "interested")
        connection.execute(update(Event).where(Event.id.between(min(event_ids), max(event_ids)))
                           .values(going_count=going.scalar_subquery(),
                                   interested_count=interested.scalar_subquery()))
