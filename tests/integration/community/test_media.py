import hashlib
import io
import os
import struct
import zlib

import httpx
import pytest
from PIL import Image, ImageFile
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from tests import factories

from lifeceo.community.media import repository
from lifeceo.community.media.models import Media
from lifeceo.community.media.service import media_storage
from lifeceo.platform.storage.local import LocalDiskStorage
from lifeceo.settings import get_settings

MEDIA = "/api/v1/media"
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A real image; noisy, so that most of the file is compressed pixel data."""
    width, height = size
    image = Image.frombytes("RGB", size, os.urandom(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header is rewritten to claim another size, with a valid CRC."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    # IHDR: length (8:12), type (12:16), width and height (16:24), ..., CRC (29:33).
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def stored_files() -> list[str]:
    root = get_settings().media_dir
    return sorted(str(path.relative_to(root)) for path in root.rglob("*")) if root.exists() else []


async def media_count(session) -> int:
    return await session.scalar(select(func.count()).select_from(Media))


async def upload(client, headers, data: bytes, filename="photo.jpg", content_type="image/jpeg"):
    return await client.post(MEDIA, files={"file": (filename, data, content_type)},
                             headers=headers)


async def assert_rejected_and_nothing_stored(response, status, session, files_before):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status
    assert await media_count(session) == 0
    assert stored_files() == files_before


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
async def test_each_format_is_stored_and_served_back_byte_identical(client, session, fmt):
    owner = await factories.user(client)
    data = image_bytes(fmt, (64, 48))
    files_before = stored_files()

    created = await upload(client, owner, data, f"photo.{fmt.lower()}", CONTENT_TYPES[fmt])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["content_type"] == CONTENT_TYPES[fmt]
    assert (body["width"], body["height"], body["byte_size"]) == (64, 48, len(data))
    assert body["url"] == f"{MEDIA}/{body['id']}/content"
    # Processed once the upload committed (inline in tests): variants are added, nothing else moves.
    assert body["status"] == "pending"
    read = (await client.get(f"{MEDIA}/{body['id']}", headers=owner)).json()
    assert read["status"] == "ready"
    unchanged = ("id", "content_type", "byte_size", "width", "height", "url", "created_at")
    assert {key: read[key] for key in unchanged} == {key: body[key] for key in unchanged}

    content = await client.get(body["url"], headers=owner)
    assert content.status_code == 200
    assert content.content == data
    assert content.headers["content-type"] == CONTENT_TYPES[fmt]
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-disposition"] == "inline"
    # No post shows it: its owner's alone.
    assert content.headers["cache-control"] == "private, no-cache"
    assert content.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'

    row = await session.get(Media, body["id"])
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert len(row.storage_key) >= 32 and "photo" not in row.storage_key
    assert stored_files() == sorted([*files_before, row.storage_key])
    assert (get_settings().media_dir / row.storage_key).read_bytes() == data


async def test_the_type_is_sniffed_from_the_bytes_not_taken_from_the_client(client):
    owner = await factories.user(client)
    data = image_bytes("PNG")
    created = await upload(client, owner, data, "holiday.jpg", "image/jpeg")
    assert created.status_code == 201
    assert created.json()["content_type"] == "image/png"
    content = await client.get(created.json()["url"], headers=owner)
    assert content.headers["content-type"] == "image/png"
    assert content.content == data


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 0)).save(buffer, "GIF")
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "filename", "content_type"), [
    (gif_bytes(), "cat.gif", "image/gif"),
    (gif_bytes(), "cat.png", "image/png"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg",
     "image/svg+xml"),
    (b"just some text, honestly", "notes.jpg", "image/jpeg"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "paper.webp", "image/webp"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "sound.webp", "image/webp"),
    (b"", "empty.png", "image/png"),
], ids=["gif", "gif-named-png", "svg", "text-named-jpg", "pdf", "riff-wave", "empty"])
async def test_anything_but_jpeg_png_webp_is_415(client, session, data, filename, content_type):
    owner = await factories.user(client)
    files_before = stored_files()
    response = await upload(client, owner, data, filename, content_type)
    await assert_rejected_and_nothing_stored(response, 415, session, files_before)


def truncated(fmt: str) -> bytes:
    data = image_bytes(fmt, (128, 128))
    return data[: len(data) * 2 // 3]


def png_with_corrupt_pixels() -> bytes:
    data = bytearray(image_bytes("PNG", (32, 32)))
    idat = data.index(b"IDAT")
    data[idat + 20] ^= 0xFF
    return bytes(data)


# A truncated JPEG has a whole header: it is accepted and then fails in processing
# (test_media_processing.py).
@pytest.mark.parametrize("data", [
    truncated("PNG"), truncated("WEBP"), png_with_corrupt_pixels(),
    # JPEG magic in front of a PNG: the sniffed type and the actual format disagree.
    b"\xff\xd8\xff" + image_bytes("PNG"),
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
], ids=["truncated-png", "truncated-webp", "corrupt-png", "jpeg-magic-png", "png-magic-only"])
async def test_truncated_or_corrupt_images_are_422(client, session, data):
    owner = await factories.user(client)
    files_before = stored_files()
    response = await upload(client, owner, data)
    await assert_rejected_and_nothing_stored(response, 422, session, files_before)


@pytest.mark.parametrize("size", [(50_000, 50_000), (7_000, 7_000)],
                         ids=["beyond-pillow-limit", "beyond-setting"])
async def test_decompression_bombs_are_rejected_without_decoding(client, session, monkeypatch,
                                                                 size):
    owner = await factories.user(client)
    decoded = []
    original_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load",
                        lambda image: decoded.append(image.size) or original_load(image))
    files_before = stored_files()

    response = await upload(client, owner, png_declaring(*size), "tiny.png", "image/png")
    await assert_rejected_and_nothing_stored(response, 413, session, files_before)
    assert decoded == []


async def test_the_pixel_limit_is_the_configured_one(client, session, monkeypatch):
    owner = await factories.user(client)
    data = image_bytes("PNG", (64, 48))
    files_before = stored_files()
    monkeypatch.setattr(get_settings(), "max_image_pixels", 64 * 48 - 1)
    response = await upload(client, owner, data, "a.png", "image/png")
    await assert_rejected_and_nothing_stored(response, 413, session, files_before)
    assert response.json()["max_pixels"] == 64 * 48 - 1

    monkeypatch.setattr(get_settings(), "max_image_pixels", 64 * 48)
    assert (await upload(client, owner, data, "a.png", "image/png")).status_code == 201


async def test_bodies_over_the_upload_limit_are_413_with_nothing_stored(client, session):
    owner = await factories.user(client)
    files_before = stored_files()
    oversized = image_bytes("JPEG") + b"\x00" * get_settings().max_upload_bytes
    response = await upload(client, owner, oversized)
    await assert_rejected_and_nothing_stored(response, 413, session, files_before)


async def test_the_file_itself_is_held_to_the_limit(client, session, monkeypatch):
    owner = await factories.user(client)
    data = image_bytes("JPEG")
    files_before = stored_files()
    # Below the body limit the middleware enforces, so only the service's own check is left.
    monkeypatch.setattr(get_settings(), "max_upload_bytes", len(data) - 1)
    response = await upload(client, owner, data)
    await assert_rejected_and_nothing_stored(response, 413, session, files_before)


async def test_a_request_without_the_file_field_is_422(client, session):
    owner = await factories.user(client)
    files_before = stored_files()
    wrong_name = await client.post(MEDIA, files={"image": ("a.png", image_bytes("PNG"))},
                                   headers=owner)
    await assert_rejected_and_nothing_stored(wrong_name, 422, session, files_before)
    not_a_file = await client.post(MEDIA, data={"file": "a.png"}, headers=owner)
    await assert_rejected_and_nothing_stored(not_a_file, 422, session, files_before)
    json_body = await client.post(MEDIA, json={"file": "a.png"}, headers=owner)
    await assert_rejected_and_nothing_stored(json_body, 422, session, files_before)


async def test_anonymous_uploads_are_401(client, session):
    files_before = stored_files()
    response = await upload(client, {}, image_bytes("JPEG"))
    await assert_rejected_and_nothing_stored(response, 401, session, files_before)


async def test_etag_and_if_none_match(client):
    owner = await factories.user(client)
    created = (await upload(client, owner, image_bytes("WEBP"), "a.webp", "image/webp")).json()
    etag = (await client.get(created["url"], headers=owner)).headers["etag"]

    for offered in (etag, f"W/{etag}", f'"something-else", {etag}', "*"):
        cached = await client.get(created["url"], headers={**owner, "If-None-Match": offered})
        assert cached.status_code == 304, offered
        assert cached.content == b""
        assert cached.headers["etag"] == etag
        assert cached.headers["cache-control"] == "private, no-cache"
    stale = await client.get(created["url"],
                             headers={**owner, "If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.headers["etag"] == etag


async def test_only_the_owner_deletes_and_the_file_goes_with_the_row(client, session):
    owner = await factories.user(client)
    other = await factories.user(client)
    created = (await upload(client, owner, image_bytes("JPEG"))).json()
    key = (await session.get(Media, created["id"])).storage_key
    path = get_settings().media_dir / key

    assert (await client.delete(f"{MEDIA}/{created['id']}")).status_code == 401
    # No post shows it to them: for them it does not exist.
    hidden = await client.delete(f"{MEDIA}/{created['id']}", headers=other)
    assert hidden.status_code == 404
    assert path.exists()
    assert (await client.get(created["url"], headers=owner)).status_code == 200

    deleted = await client.delete(f"{MEDIA}/{created['id']}", headers=owner)
    assert deleted.status_code == 204
    assert not path.exists()
    assert await media_count(session) == 0
    assert (await client.get(f"{MEDIA}/{created['id']}", headers=owner)).status_code == 404
    assert (await client.get(created["url"], headers=owner)).status_code == 404
    assert (await client.delete(f"{MEDIA}/{created['id']}", headers=owner)).status_code == 404


async def test_unknown_media_are_404(client):
    owner = await factories.user(client)
    for response in (await client.get(f"{MEDIA}/424242"),
                     await client.get(f"{MEDIA}/424242/content"),
                     await client.delete(f"{MEDIA}/424242", headers=owner)):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"{MEDIA}/not-a-number")).status_code == 422


@pytest.fixture
async def raw_client(app):
    """A client that receives the 500 instead of the exception, for simulated failures."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_a_failed_insert_leaves_no_file(raw_client, session, monkeypatch):
    owner = await factories.user(raw_client)
    files_before = stored_files()

    async def insert_fails(*args, **kwargs):
        raise OperationalError("INSERT INTO media", {}, Exception("connection lost"))

    monkeypatch.setattr(repository, "add", insert_fails)
    response = await upload(raw_client, owner, image_bytes("PNG"), "a.png", "image/png")
    await assert_rejected_and_nothing_stored(response, 500, session, files_before)


async def test_a_failed_write_leaves_no_row(raw_client, app, session, tmp_path):
    owner = await factories.user(raw_client)
    # A media directory that cannot be created: its parent is a regular file.
    (tmp_path / "occupied").write_text("")
    unwritable = LocalDiskStorage(tmp_path / "occupied" / "media")
    app.dependency_overrides[media_storage] = lambda: unwritable
    try:
        response = await upload(raw_client, owner, image_bytes("PNG"), "a.png", "image/png")
    finally:
        del app.dependency_overrides[media_storage]
    assert response.status_code == 500
    assert await media_count(session) == 0
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["occupied"]
