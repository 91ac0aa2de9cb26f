"""Rules about media: only well-formed JPEG, PNG and WebP images of bounded size are kept, and a
row is never left without its bytes."""

import asyncio
import hashlib
import io
import secrets
import struct
from dataclasses import dataclass

import structlog
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.media import repository
from lifeceo.community.media.models import Media
from lifeceo.community.posts.service import post_service
from lifeceo.community.users.models import User
from lifeceo.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from lifeceo.platform.cache import Cache
from lifeceo.platform.storage import MediaStorage, MissingObject
from lifeceo.platform.storage.local import LocalDiskStorage
from lifeceo.settings import get_settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ImageFormat:
    content_type: str
    pillow_format: str
    extension: str


JPEG = ImageFormat("image/jpeg", "JPEG", ".jpg")
PNG = ImageFormat("image/png", "PNG", ".png")
WEBP = ImageFormat("image/webp", "WEBP", ".webp")
# Every way Pillow's parsers report a malformed or truncated file.
MALFORMED_IMAGE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)


@dataclass(frozen=True)
class CheckedImage:
    width: int
    height: int
    sha256: str


def sniff(data: bytes) -> ImageFormat | None:
    """The format the leading bytes announce; the client's Content-Type is never trusted."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def check_image(data: bytes, image_format: ImageFormat, max_pixels: int) -> CheckedImage:
    """Dimensions and digest of a well-formed image; CPU-bound, so it runs in a worker thread."""
    try:
        with Image.open(io.BytesIO(data), formats=[image_format.pillow_format]) as image:
            # Only the header has been parsed: bound the pixel count before anything is decoded.
            if image.format != image_format.pillow_format:
                raise Unprocessable(f"The file is not a valid {image_format.pillow_format} image.")
            width, height = image.size
            if width * height > max_pixels:
                raise PayloadTooLarge(f"The image has {width}x{height} pixels; at most "
                                      f"{max_pixels} are accepted.", max_pixels=max_pixels)
            image.verify()
        # verify() leaves the image unusable and does not decode JPEG or WebP at all: decoding
        # the pixels is what finds a truncated or corrupt file.
        with Image.open(io.BytesIO(data), formats=[image_format.pillow_format]) as image:
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own ceiling, hit while parsing the header of a file that declares huge sizes.
        raise PayloadTooLarge(f"The image declares more than {max_pixels} pixels.",
                              max_pixels=max_pixels) from None
    except MALFORMED_IMAGE_ERRORS:
        raise Unprocessable(f"The file is a truncated or corrupt "
                            f"{image_format.pillow_format} image.") from None
    return CheckedImage(width=width, height=height, sha256=hashlib.sha256(data).hexdigest())


async def media_storage() -> MediaStorage:
    """Where media bytes are kept (a FastAPI dependency, so that tests can substitute it)."""
    return LocalDiskStorage(get_settings().media_dir)


def etag_of(media: Media) -> str:
    return f'"{media.sha256}"'


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires."""
    if not if_none_match:
        return False
    offered = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in offered or etag in offered


class MediaService:
    async def upload(self, *, session: AsyncSession, storage: MediaStorage, owner: User,
                     data: bytes) -> Media:
        settings = get_settings()
        if len(data) > settings.max_upload_bytes:
            raise PayloadTooLarge(f"The file exceeds {settings.max_upload_bytes} bytes.",
                                  max_bytes=settings.max_upload_bytes)
        image_format = sniff(data)
        if image_format is None:
            raise UnsupportedMediaType("Upload a JPEG, PNG or WebP image.")
        image = await asyncio.to_thread(check_image, data, image_format,
                                        settings.max_image_pixels)
        key = secrets.token_hex(16) + image_format.extension
        await storage.save(key, data)
        try:
            return await repository.add(
                session, owner_id=owner.id, content_type=image_format.content_type,
                byte_size=len(data), width=image.width, height=image.height, storage_key=key,
                sha256=image.sha256)
        except BaseException:
            # Also on cancellation: bytes with no row pointing at them would never be removed.
            await storage.delete(key)
            raise

    async def get(self, *, session: AsyncSession, media_id: int) -> Media:
        media = await repository.by_id(session, media_id)
        if media is None:
            raise NotFound(f"No media with id {media_id}.")
        return media

    async def content(self, *, session: AsyncSession, storage: MediaStorage, media_id: int,
                      if_none_match: str | None) -> tuple[Media, bytes | None]:
        """The media and its bytes; None instead of the bytes when the client's copy is current."""
        media = await self.get(session=session, media_id=media_id)
        if _etag_matches(if_none_match, etag_of(media)):
            return media, None
        try:
            return media, await storage.read(media.storage_key)
        except MissingObject:
            log.error("media bytes missing", media_id=media.id, storage_key=media.storage_key)
            raise NotFound(f"The content of media {media_id} is not available.") from None

    async def delete(self, *, session: AsyncSession, cache: Cache, actor: User,
                     media_id: int) -> Media:
        """Delete the row; the caller removes the bytes once the deletion is committed."""
        media = await self.get(session=session, media_id=media_id)
        if media.owner_id != actor.id:
            raise Forbidden("Only the owner may delete a media item.")
        await post_service.media_removed(session=session, cache=cache, media_id=media.id,
                                         owner_id=media.owner_id)
        await repository.remove(session, media.id)
        return media


media_service = MediaService()
