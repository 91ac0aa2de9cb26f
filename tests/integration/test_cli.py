"""The `lifeceo` commands against real PostgreSQL: migrate, seed, create-admin, doctor."""

import asyncio
import logging
import socket
import threading
import uuid
from collections.abc import Iterator

import psutil
import psycopg
import pytest
import structlog
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from lifeceo import cli
from lifeceo.doctor import MASK, check_redis, effective_configuration, mask_url
from lifeceo.platform.db.migrations import head_revisions
from lifeceo.seed import DEMO_PASSWORD
from lifeceo.settings import Settings, get_settings

SECRET = "do-not-print-this-secret-key"


@pytest.fixture
def run():
    """Invoke a command in-process with extra environment; settings are re-read each time."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level

    def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None):
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli.app, list(args), env=env, input=input)
        finally:
            get_settings.cache_clear()
            # The command configured logging onto the runner's captured streams.
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
            structlog.reset_defaults()

    return invoke


@pytest.fixture
def run_in_thread(run):
    """For async tests: create-admin runs its own event loop, which cannot nest in the test's."""
    return lambda *args, **options: asyncio.to_thread(run, *args, **options)


@pytest.fixture
def fresh_database(database_url) -> Iterator[callable]:
    """Creates empty databases on the test server; dropped at the end."""
    admin_url = make_url(database_url).set(drivername="postgresql")
    created = []

    def create() -> str:
        name = f"lifeceo_cli_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_url.render_as_string(False), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return admin_url.set(database=name).render_as_string(False)

    yield create
    with psycopg.connect(admin_url.render_as_string(False), autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_migrate_brings_an_empty_database_to_head(run, fresh_database):
    url = fresh_database()
    result = run("migrate", env={"LIFECEO_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert {version for (version,) in query(url, "SELECT version_num FROM alembic_version")} == \
        head_revisions()
    assert query(url, "SELECT count(*) FROM users") == [(0,)]


def test_migrate_and_doctor_without_a_url_use_the_embedded_server_and_stop_it(run, tmp_path):
    env = {"LIFECEO_DATABASE_URL": None, "LIFECEO_DATA_DIR": str(tmp_path)}
    migrated = run("migrate", env=env)
    assert migrated.exit_code == 0, migrated.output
    checked = run("doctor", env=env)
    assert checked.exit_code == 0, checked.output
    assert "database (embedded)" in checked.output and "at head" in checked.output
    pgdata = str(tmp_path / "pgdata")
    assert not [process for process in psutil.process_iter(["cmdline"])
                if any(pgdata in argument for argument in process.info["cmdline"] or ())]


SEED = ("seed", "--users", "40", "--posts", "300", "--events", "12", "--seed", "7")
COUNTERS_MATCH_ROWS = """
SELECT
  (SELECT count(*) FROM users u WHERE followers_count <>
     (SELECT count(*) FROM follows WHERE followee_id = u.id)
     OR following_count <> (SELECT count(*) FROM follows WHERE follower_id = u.id)),
  (SELECT count(*) FROM posts p WHERE like_count <>
     (SELECT count(*) FROM likes WHERE post_id = p.id)
     OR comment_count <> (SELECT count(*) FROM comments WHERE post_id = p.id)),
  (SELECT count(*) FROM events e WHERE
     going_count <> (SELECT count(*) FROM rsvps WHERE event_id = e.id AND status = 'going')
     OR interested_count <>
       (SELECT count(*) FROM rsvps WHERE event_id = e.id AND status = 'interested'))
"""


def test_seed_is_deterministic_with_exact_counters_and_adds_on_top(run, fresh_database):
    first, second = fresh_database(), fresh_database()
    for url in (first, second):
        assert run("migrate", env={"LIFECEO_DATABASE_URL": url}).exit_code == 0
        result = run(*SEED, env={"LIFECEO_DATABASE_URL": url})
        assert result.exit_code == 0, result.output
    content = ("SELECT username, display_name, city FROM users ORDER BY id",
               "SELECT body, tags, visibility FROM posts ORDER BY id",
               "SELECT title, city, capacity FROM events ORDER BY id",
               ("SELECT count(*) FROM follows UNION ALL SELECT count(*) FROM likes "
                "UNION ALL SELECT count(*) FROM comments UNION ALL SELECT count(*) FROM rsvps"))
    for sql in content:
        assert query(first, sql) == query(second, sql), sql
    usernames = [name for name, _, _ in query(first, content[0])]
    assert usernames[0] == "user00001" and usernames[-1] == "user00040"
    assert query(first, "SELECT count(*) FROM posts") == [(300,)]
    assert query(first, "SELECT count(*) > 0 FROM likes")[0][0]
    assert query(first, COUNTERS_MATCH_ROWS) == [(0, 0, 0)]
    assert query(first, "SELECT count(*) FROM posts WHERE created_at < now() - interval '91 days' "
                        "OR created_at > now()") == [(0,)]

    again = run(*SEED, env={"LIFECEO_DATABASE_URL": first})
    assert again.exit_code == 0, again.output
    assert query(first, "SELECT count(*), count(DISTINCT username), max(username) FROM users") == \
        [(80, 80, "user00080")]
    assert query(first, COUNTERS_MATCH_ROWS) == [(0, 0, 0)]


async def test_seeded_users_log_in_with_the_demo_password(run_in_thread, client):
    result = await run_in_thread("seed", "--users", "3", "--posts", "5", "--events", "1")
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD in result.output
    login = await client.post("/api/v1/auth/login",
                              json={"username": "user00002", "password": DEMO_PASSWORD})
    assert login.status_code == 200, login.text


async def test_create_admin_creates_with_a_confirmed_password_then_promotes(run_in_thread, client):
    password = "admin-password-1"
    result = await run_in_thread("create-admin", "Boss", "--email", "boss@example.org",
                                 input=f"{password}\n{password}\n")
    assert result.exit_code == 0, result.output
    assert password not in result.output
    login = await client.post("/api/v1/auth/login", json={"username": "boss", "password": password})
    assert login.status_code == 200
    assert login.json()["user"]["is_admin"] is True

    await client.post("/api/v1/auth/register", json={
        "username": "dancer", "email": "dancer@example.org", "password": "dancer-password"})
    promoted = await run_in_thread("create-admin", "dancer")
    assert promoted.exit_code == 0, promoted.output
    login = await client.post("/api/v1/auth/login",
                              json={"username": "dancer", "password": "dancer-password"})
    assert login.json()["user"]["is_admin"] is True


async def test_create_admin_rejects_bad_input_and_changes_nothing(run_in_thread, client):
    mismatch = await run_in_thread("create-admin", "newadmin", "--email", "n@example.org",
                                   input="first-password\nsecond-password\n")
    assert mismatch.exit_code != 0
    short = await run_in_thread("create-admin", "newadmin", "--email", "n@example.org",
                                "--password", "short")
    assert short.exit_code == 1
    assert "password" in short.output
    await client.post("/api/v1/auth/register", json={
        "username": "taken", "email": "taken@example.org", "password": "taken-password"})
    clash = await run_in_thread("create-admin", "newadmin", "--email", "taken@example.org",
                                "--password", "long-enough-password")
    assert clash.exit_code == 1
    assert "email" in clash.output
    assert (await client.get("/api/v1/users/newadmin")).status_code == 404


def test_doctor_masks_secrets_and_passes_on_a_migrated_database(run, database_url):
    result = run("doctor", env={"LIFECEO_SECRET_KEY": SECRET})
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "secret_key" in result.output and "********" in result.output
    assert "migrations" in result.output and "FAIL" not in result.output


def test_doctor_fails_on_an_unreachable_database_without_printing_its_password(run):
    url = "postgresql://lifeceo:hunter2-password@127.0.0.1:9/lifeceo"
    result = run("doctor", env={"LIFECEO_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "hunter2-password" not in result.output
    assert "unreachable" in result.output and "lifeceo:********@127.0.0.1:9" in result.output


def test_doctor_fails_on_a_database_behind_its_migrations(run, fresh_database):
    result = run("doctor", env={"LIFECEO_DATABASE_URL": fresh_database()})
    assert result.exit_code == 1
    assert "lifeceo migrate" in result.output


def test_mask_url_hides_passwords_in_user_info_and_query():
    assert mask_url("postgresql://u:p%40ss@db:5432/x?sslmode=require&password=q") == \
        "postgresql://u:********@db:5432/x?sslmode=require&password=********"
    assert mask_url("redis://:secret@cache:6379/0") == "redis://:********@cache:6379/0"
    assert mask_url("postgresql://postgres@/lifeceo?host=/tmp/run") == \
        "postgresql://postgres@/lifeceo?host=/tmp/run"


def test_effective_configuration_masks_secrets_only():
    settings = Settings(secret_key=SECRET, database_url="postgres://u:pw@db/x")
    shown = effective_configuration(settings)
    assert shown["secret_key"] == MASK
    assert shown["database_url"] == f"postgres://u:{MASK}@db/x"
    assert shown["password_hash_time_cost"] != MASK


@pytest.fixture
def fake_redis() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback server speaking enough RESP for AUTH and PING; records what it received."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(1024):
                    received.append(data)
                    conn.sendall(b"+PONG\r\n" if b"PING" in data else b"+OK\r\n")

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1], received
    listener.close()


def test_redis_check_authenticates_then_pings(fake_redis):
    port, received = fake_redis
    result = check_redis(f"redis://app:s3cret@127.0.0.1:{port}/0")
    assert result.ok, result.detail
    assert received[0] == b"*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$6\r\ns3cret\r\n"
    assert b"PING" in received[-1]
    assert "s3cret" not in result.detail


def test_doctor_fails_when_redis_is_configured_but_down(run, database_url):
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    result = run("doctor", env={"LIFECEO_REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    assert result.exit_code == 1
    assert "redis" in result.output and "unreachable" in result.output
