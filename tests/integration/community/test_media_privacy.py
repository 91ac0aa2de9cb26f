"""Who may read a photo: its owner, and whoever may see a post showing it; everyone else gets a
404, as for media that do not exist. Only the owner gets the original, with the camera's
metadata; only media a public post shows are marked for shared caches."""

import io

import pytest
from PIL import ExifTags, Image
from tests import factories
from tests.unit.community.test_media_processing_pipeline import photo

MEDIA = "/api/v1/media"
PRIVATE = "private, no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"


def gps_jpeg(width: int = 1000, height: int = 750) -> bytes:
    """A photo whose EXIF holds where it was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Test Camera"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0),
                ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.0)})
    buffer = io.BytesIO()
    Image.open(io.BytesIO(photo(width, height))).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def has_gps(data: bytes) -> bool:
    return bool(Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo))


async def upload(client, owner: dict[str, str], data: bytes) -> dict:
    created = await client.post(MEDIA, headers=owner,
                                files={"file": ("photo.jpg", data, "image/jpeg")})
    assert created.status_code == 201, created.text
    # Processed once the upload committed (inline in the tests).
    return (await client.get(f"{MEDIA}/{created.json()['id']}", headers=owner)).json()


async def posted(client, owner: dict[str, str], visibility: str,
                 data: bytes | None = None) -> tuple[dict, dict]:
    """A photo and the post that shows it."""
    media = await upload(client, owner, data or gps_jpeg())
    assert media["status"] == "ready" and media["variants"], media
    post = await client.post("/api/v1/posts", headers=owner, json={
        "body": "Milonga photos", "visibility": visibility, "media_id": media["id"]})
    assert post.status_code == 201, post.text
    return media, post.json()


def urls_of(media: dict) -> list[str]:
    return [f"{MEDIA}/{media['id']}", media["url"],
            *(variant["url"] for variant in media["variants"])]


async def assert_hidden(client, media: dict, headers: dict[str, str]) -> None:
    """Every URL of the media answers as if it did not exist."""
    for url in urls_of(media):
        response = await client.get(url, headers=headers)
        assert response.status_code == 404, (url, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
        assert "xkey" not in response.headers and "surrogate-key" not in response.headers


async def assert_private(client, media: dict, headers: dict[str, str]) -> None:
    """Every URL of the media answers, for this reader alone."""
    for url in urls_of(media):
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text)
        assert response.headers["cache-control"] == PRIVATE, url
        assert "xkey" not in response.headers and "surrogate-key" not in response.headers


@pytest.mark.parametrize("visibility", ["private", "followers"])
async def test_photos_of_a_non_public_post_are_404_to_whoever_may_not_see_the_post(client,
                                                                                  visibility):
    owner = await factories.user(client)
    follower = await factories.user(client, "photofollower")
    stranger = await factories.user(client)
    media, post = await posted(client, owner, visibility)
    author = post["author"]["username"]
    assert (await client.post(f"/api/v1/users/{author}/follow",
                              headers=follower)).status_code in (200, 201, 204)

    for reader in ({}, stranger):
        assert (await client.get(f"/api/v1/posts/{post['id']}", headers=reader)).status_code \
            == 404
        await assert_hidden(client, media, reader)
    await assert_private(client, media, owner)
    if visibility == "followers":
        await assert_private(client, media, follower)
        assert (await client.delete(f"/api/v1/users/{author}/follow",
                                    headers=follower)).status_code in (200, 204)
    # Not (or no longer) a follower: as for anyone else.
    await assert_hidden(client, media, follower)


async def test_the_original_with_its_metadata_is_for_the_owner_alone(client):
    owner = await factories.user(client)
    original = gps_jpeg()
    assert has_gps(original)
    media, _ = await posted(client, owner, "public", original)

    mine = await client.get(media["url"], headers=owner)
    assert mine.content == original and mine.headers["cache-control"] == PRIVATE
    for reader in ({}, await factories.user(client)):
        served = await client.get(media["url"], headers=reader)
        assert served.status_code == 200
        assert served.content != original and not has_gps(served.content)
        image = Image.open(io.BytesIO(served.content))
        assert not image.getexif() and image.width == max(v["width"] for v in media["variants"])
        assert served.headers["content-type"] == "image/webp"
    anonymous = await client.get(media["url"])
    assert anonymous.headers["cache-control"] == IMMUTABLE
    assert anonymous.headers["xkey"] == f"media:{media['id']}"


async def test_media_no_post_shows_are_their_owners_alone_pending_ready_or_failed(client):
    owner = await factories.user(client)
    stranger = await factories.user(client)
    ready = await upload(client, owner, gps_jpeg(400, 300))
    truncated = photo(400, 300)
    failed = await upload(client, owner, truncated[: len(truncated) // 2])
    assert (ready["status"], failed["status"]) == ("ready", "failed")
    # Sequential ids: walking them finds nothing of anyone else's.
    for media_id in range(1, failed["id"] + 1):
        for reader in ({}, stranger):
            for url in (f"{MEDIA}/{media_id}", f"{MEDIA}/{media_id}/content"):
                assert (await client.get(url, headers=reader)).status_code == 404, url
    await assert_private(client, ready, owner)
    assert (await client.get(f"{MEDIA}/{failed['id']}", headers=owner)).status_code == 200


async def test_a_post_turning_private_or_going_revokes_its_photo_at_once(client):
    owner = await factories.user(client)
    media, post = await posted(client, owner, "public")
    for url in urls_of(media):
        shared = await client.get(url)
        assert shared.status_code == 200, url
        assert shared.headers["cache-control"].startswith("public"), url
        assert shared.headers["xkey"] == f"media:{media['id']}", url

    patched = await client.patch(f"/api/v1/posts/{post['id']}", headers=owner,
                                 json={"visibility": "private"})
    assert patched.status_code == 200, patched.text
    await assert_hidden(client, media, {})
    await assert_private(client, media, owner)

    assert (await client.patch(f"/api/v1/posts/{post['id']}", headers=owner,
                               json={"visibility": "public"})).status_code == 200
    assert (await client.get(media["url"])).status_code == 200
    assert (await client.delete(f"/api/v1/posts/{post['id']}", headers=owner)).status_code == 204
    await assert_hidden(client, media, {})
    await assert_private(client, media, owner)


async def test_a_photo_two_posts_show_is_shared_while_one_of_them_is_public(client):
    owner = await factories.user(client)
    media, public = await posted(client, owner, "public")
    private = await client.post("/api/v1/posts", headers=owner, json={
        "body": "The same photo, for me", "visibility": "private", "media_id": media["id"]})
    assert private.status_code == 201
    assert (await client.get(media["url"])).status_code == 200
    assert (await client.delete(f"/api/v1/posts/{public['id']}", headers=owner)).status_code == 204
    await assert_hidden(client, media, {})
