"""The API through Debian's PgBouncer in transaction-pooling mode, in front of the test database."""

import asyncio
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from tests import factories
from tests.serving import free_port

from lifeceo.app import create_app
from lifeceo.settings import Settings

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@pytest.fixture
def pgbouncer(database_url: str, tmp_path: Path):
    if not os.path.exists(PGBOUNCER):
        if os.environ.get("LIFECEO_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail("pgbouncer is not installed (apt-get install pgbouncer)")
        pytest.skip("pgbouncer is not installed")
    target = make_url(database_url)
    host = target.host or target.query["host"]
    port = free_port()
    (tmp_path / "users.txt").write_text('"postgres" ""\n')
    # Two server connections for many clients: transactions from different clients interleave on
    # the same server connection, which is what breaks session state such as prepared statements.
    (tmp_path / "pgbouncer.ini").write_text(f"""
[databases]
lifeceo = host={host} port={target.port or 5432} dbname={target.database} user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {tmp_path}/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
""")
    tmp_path.chmod(0o755)
    # PgBouncer refuses to run as root.
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []
    log = tmp_path / "pgbouncer.log"
    process = subprocess.Popen([PGBOUNCER, *as_user, str(tmp_path / "pgbouncer.ini")],
                               stdout=subprocess.DEVNULL, stderr=log.open("w"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert process.poll() is None, log.read_text()
            time.sleep(0.05)
    yield f"postgresql://postgres@127.0.0.1:{port}/lifeceo"
    process.terminate()
    process.wait(10)


async def test_api_flow_through_pgbouncer_transaction_mode(app, pgbouncer):
    settings = Settings(database_url=pgbouncer, database_pgbouncer=True, database_pool_size=20)
    bounced = create_app(settings)
    async with bounced.router.lifespan_context(bounced):
        transport = httpx.ASGITransport(app=bounced)
        async with httpx.AsyncClient(transport=transport, base_url="http://bounced") as client:
            assert (await client.get("/api/health/ready")).json()["status"] == "pass"
            star = await factories.user(client, "bounced_star")
            fans = [await factories.user(client, f"bounced_fan{i}") for i in range(6)]
            # Many concurrent transactions over two server connections, each query repeated more
            # than psycopg's default prepare threshold (5).
            for _ in range(3):
                results = await asyncio.gather(
                    *(client.post("/api/v1/users/bounced_star/follow", headers=f) for f in fans),
                    *(client.get("/api/v1/me", headers=f) for f in fans),
                )
                assert all(r.status_code == 200 for r in results), [r.text for r in results]
            profile = (await client.get("/api/v1/users/bounced_star")).json()
            assert profile["followers_count"] == 6
            notes = (await client.get("/api/v1/notifications", headers=star)).json()
            assert len(notes["items"]) == 6
