"""smart-resource-loading, flipped at runtime: image variants, srcset and a preload hint in post
and media responses while on; the original only while off."""

import io

from flipping import flip
from PIL import Image
from tests.factories import user


def jpeg(width: int = 900, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()


async def test_variants_srcset_and_preload_follow_the_flag(client, admin):
    author = await user(client, "photographer")
    uploaded = await client.post("/api/v1/media", headers=author,
                                 files={"file": ("photo.jpg", jpeg(), "image/jpeg")})
    assert uploaded.status_code in (201, 202), uploaded.text
    media_id = uploaded.json()["id"]
    created = await client.post("/api/v1/posts", headers=author,
                                json={"body": "Tonight's milonga", "media_id": media_id})
    assert created.status_code == 201, created.text
    post_path = f"/api/v1/posts/{created.json()['id']}"

    async def shown() -> tuple[dict, str | None, dict, dict]:
        post = await client.get(post_path)
        media = (await client.get(f"/api/v1/media/{media_id}")).json()
        feed = (await client.get("/api/v1/feed/public")).json()["items"][0]["media"]
        return post.json()["media"], post.headers.get("link"), media, feed

    await shown()  # a second read: the feed page is now kept whole, made of cached entries
    image, link, media, feed = await shown()
    assert image["status"] == "ready" and image["srcset"]["image/webp"]
    assert {variant["width"] for variant in image["variants"]} == {320, 800, 900}
    assert link.startswith(f"</api/v1/media/{media_id}/variants/") and "rel=preload" in link
    assert 'imagesrcset="' + image["srcset"]["image/webp"] + '"' in link
    assert media["variants"] and feed["variants"]

    await flip(client, admin, "smart-resource-loading", enabled=False)
    image, link, media, feed = await shown()
    assert (image["variants"], image["srcset"], link) == ([], {}, None)
    assert (media["variants"], media["srcset"]) == ([], {})
    assert media["url"] == f"/api/v1/media/{media_id}/content"
    # Whole pages this process kept were dropped with the change.
    assert (feed["variants"], feed["srcset"]) == ([], {})

    await flip(client, admin, "smart-resource-loading", enabled=True)
    image, link, media, feed = await shown()
    assert image["variants"] and link and media["variants"] and feed["variants"]
