"""Data made through the public API, as a client would."""

import itertools

import httpx

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


async def user(client: httpx.AsyncClient, username: str | None = None, **profile) -> dict[str, str]:
    """Register and log in; returns Bearer headers."""
    username = username or f"user{next(_numbers)}"
    response = await client.post("/api/v1/auth/register", json={
        "username": username, "email": f"{username}@example.org", "password": PASSWORD})
    assert response.status_code == 201, response.text
    response = await client.post("/api/v1/auth/login",
                                 json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    # API clients use the Bearer token; the cookies are for browsers.
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    if profile:
        assert (await client.patch("/api/v1/me", json=profile, headers=headers)).status_code == 200
    return headers
