from sqlalchemy import text

from lifeceo.platform.db.migrations import head_revisions

HEALTH = "application/health+json"


async def test_liveness_never_touches_dependencies(client):
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == HEALTH
    body = response.json()
    assert body["status"] == "pass"
    assert list(body["checks"]) == ["uptime:seconds"]


async def test_readiness_reports_database_and_migrations(client):
    response = await client.get("/api/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pass"
    latency = body["checks"]["database:responseTime"][0]
    assert latency["componentType"] == "datastore"
    assert latency["observedUnit"] == "ms" and latency["observedValue"] >= 0
    assert "time" in latency
    assert body["checks"]["database:migrations"][0]["status"] == "pass"


async def test_readiness_fails_with_503_when_schema_is_behind(client, app):
    async with app.state.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'behind'"))
    try:
        response = await client.get("/api/health/ready")
        assert response.status_code == 503
        assert response.json()["status"] == "fail"
        assert response.json()["checks"]["database:migrations"][0]["status"] == "fail"
    finally:
        async with app.state.engine.begin() as connection:
            await connection.execute(text("DELETE FROM alembic_version"))
            for head in head_revisions():
                await connection.execute(text("INSERT INTO alembic_version VALUES (:head)"),
                                         {"head": head})
    assert (await client.get("/api/health/ready")).status_code == 200


async def test_startup_probe(client):
    response = await client.get("/api/health/startup")
    assert response.status_code == 200
    assert response.json()["checks"]["startup:duration"][0]["status"] == "pass"
