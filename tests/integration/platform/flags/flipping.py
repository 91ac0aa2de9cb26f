"""Changing a flag at runtime through the admin API, as an operator would."""

import httpx


async def flip(client: httpx.AsyncClient, admin: dict[str, str], key: str, **changes) -> dict:
    """Apply `changes` to the flag at its current version; the flag as it is now."""
    current = await client.get(f"/api/v1/admin/flags/{key}", headers=admin)
    assert current.status_code == 200, current.text
    changed = await client.patch(f"/api/v1/admin/flags/{key}",
                                 headers={**admin, "If-Match": current.headers["etag"]},
                                 json=changes)
    assert changed.status_code == 200, changed.text
    return changed.json()
