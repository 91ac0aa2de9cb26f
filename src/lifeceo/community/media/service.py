"""Rules about media: only JPEG, PNG and WebP images of bounded size and pixel count are kept, a
row is never left without its bytes, and every upload is rendered into served variants by the
process-media job (tasks.py), which ends it `ready` or `failed` with a reason."""

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import PurePath

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.media import cache_keys, processing, repository
from lifeceo.community.media.models import Media
from lifeceo.community.media.processing import ImageRejected
from lifeceo.community.media.schemas import StoredVariant
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
from lifeceo.platform.queue import enqueue
from lifeceo.platform.storage import MediaStorage, MissingObject
from lifeceo.platform.storage.local import LocalDiskStorage
from lifeceo.settings import Settings, get_settings

log = structlog.get_logger(__name__)
PROCESS_MEDIA_JOB = "process-media"


@dataclass(frozen=True)
class ImageFormat:
    content_type: str
    pillow_format: str
    extension: str


JPEG = ImageFormat("image/jpeg", "JPEG", ".jpg")
PNG = ImageFormat("image/png", "PNG", ".png")
WEBP = ImageFormat("image/webp", "WEBP", ".webp")


@dataclass(frozen=True)
class Rendering:
    """The outcome of one processing run: the image as shown and its variants, already saved;
    or, with a failure_reason, nothing."""

    variants: list[StoredVariant]
    width: int | None = None
    height: int | None = None
    blurhash: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class Readable:
    """A media item as one viewer may read it."""

    media: Media
    # The owner reads the original; anyone else only what processing rendered from it.
    owner: bool
    # A public post shows it: whoever reads it gets the same, so shared caches may keep it.
    public: bool


@dataclass(frozen=True)
class Served:
    """Bytes of a media item for one reader; `data` is None when the reader's copy is current."""

    content_type: str
    etag: str
    public: bool
    data: bytes | None


def sniff(data: bytes) -> ImageFormat | None:
    """The format the leading bytes announce; the client's Content-Type is never trusted."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def originals_in(settings: Settings) -> MediaStorage:
    """Where original uploads are kept."""
    return LocalDiskStorage(settings.media_dir)


def variants_in(settings: Settings) -> MediaStorage:
    """Where rendered variants are kept."""
    return LocalDiskStorage(settings.media_variants_dir)


async def media_storage() -> MediaStorage:
    """The originals' storage as a FastAPI dependency, so that tests can substitute it."""
    return originals_in(get_settings())


async def variant_storage() -> MediaStorage:
    return variants_in(get_settings())


def variant_keys(media: Media) -> list[str]:
    """The variant storage's keys the media's row refers to (the original is media.storage_key)."""
    return [StoredVariant.model_validate(stored).storage_key for stored in media.variants]


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
        """Keep the original and queue its processing; only what the header tells is checked
        here (type, pixel count), the decoding is the job's."""
        settings = get_settings()
        if len(data) > settings.max_upload_bytes:
            raise PayloadTooLarge(f"The file exceeds {settings.max_upload_bytes} bytes.",
                                  max_bytes=settings.max_upload_bytes)
        image_format = sniff(data)
        if image_format is None:
            raise UnsupportedMediaType("Upload a JPEG, PNG or WebP image.")
        try:
            width, height = await asyncio.to_thread(
                processing.read_header, data, image_format.pillow_format,
                max_pixels=settings.max_image_pixels)
        except ImageRejected as rejection:
            if rejection.kind == "bomb":
                raise PayloadTooLarge(rejection.reason,
                                      max_pixels=settings.max_image_pixels) from None
            raise Unprocessable(rejection.reason) from None
        key = secrets.token_hex(16) + image_format.extension
        await storage.save(key, data)
        try:
            media = await repository.add(
                session, owner_id=owner.id, content_type=image_format.content_type,
                byte_size=len(data), width=width, height=height, storage_key=key,
                sha256=hashlib.sha256(data).hexdigest())
            # In this transaction: the job exists if and only if the row does.
            await enqueue(session, PROCESS_MEDIA_JOB, media_id=media.id, lock=f"media:{media.id}")
            return media
        except BaseException:
            # Also on cancellation: bytes with no row pointing at them would never be removed.
            await storage.delete(key)
            raise

    async def get(self, *, session: AsyncSession, media_id: int) -> Media:
        media = await repository.by_id(session, media_id)
        if media is None:
            raise NotFound(f"No media with id {media_id}.")
        return media

    async def readable(self, *, session: AsyncSession, media_id: int,
                       viewer: User | None) -> Readable:
        """The media if the viewer may read it: its owner always, anyone else while a post they
        may see shows it. Otherwise it does not exist, for them."""
        media = await self.get(session=session, media_id=media_id)
        owner = viewer is not None and viewer.id == media.owner_id
        seen, public = await post_service.media_audience(
            session=session, media_id=media.id, owner_id=media.owner_id,
            viewer_id=viewer.id if viewer else None)
        if not (owner or seen):
            raise NotFound(f"No media with id {media_id}.")
        return Readable(media=media, owner=owner, public=public)

    async def content(self, *, session: AsyncSession, originals: MediaStorage,
                      variants: MediaStorage, media_id: int, viewer: User | None,
                      if_none_match: str | None) -> Served:
        """The original, for its owner; for anyone else the largest rendition, which carries no
        metadata (the original may hold the camera's GPS position)."""
        readable = await self.readable(session=session, media_id=media_id, viewer=viewer)
        media = readable.media
        if readable.owner:
            # Not what anyone else gets under this URL: for no shared cache.
            return await _served(originals, media, public=False, key=media.storage_key,
                                 content_type=media.content_type, etag=etag_of(media),
                                 if_none_match=if_none_match)
        renditions = [StoredVariant.model_validate(stored) for stored in media.variants]
        if not renditions:
            raise NotFound(f"Media {media_id} is not processed yet.")
        # WebP where both formats exist: every browser in use decodes it, and it is smaller.
        largest = max(renditions, key=lambda variant: (variant.width,
                                                      variant.content_type == WEBP.content_type))
        return await _served(variants, media, public=readable.public, key=largest.storage_key,
                             content_type=largest.content_type, etag=f'"{largest.sha256}"',
                             if_none_match=if_none_match)

    async def variant(self, *, session: AsyncSession, storage: MediaStorage, media_id: int,
                      viewer: User | None, name: str, if_none_match: str | None) -> Served:
        """A rendered variant (upright, without metadata), for whoever may read the media."""
        readable = await self.readable(session=session, media_id=media_id, viewer=viewer)
        found = [variant for variant in map(StoredVariant.model_validate,
                                            readable.media.variants) if variant.name == name]
        if not found:
            raise NotFound(f"Media {media_id} has no variant {name}.")
        return await _served(storage, readable.media, public=readable.public,
                             key=found[0].storage_key,
                             content_type=found[0].content_type, etag=f'"{found[0].sha256}"',
                             if_none_match=if_none_match)

    async def delete(self, *, session: AsyncSession, cache: Cache, actor: User,
                     media_id: int) -> Media:
        """Delete the row as it is when deleted; the caller removes its files (the original and
        variant_keys) once the deletion is committed."""
        media = (await self.readable(session=session, media_id=media_id, viewer=actor)).media
        if media.owner_id != actor.id:
            raise Forbidden("Only the owner may delete a media item.")
        await post_service.media_removed(session=session, cache=cache, media_id=media.id,
                                         owner_id=media.owner_id)
        removed = await repository.remove(session, media.id)
        if removed is None:
            raise NotFound(f"No media with id {media_id}.")
        await cache.invalidate(keys=[cache_keys.image_key(media.id)], session=session)
        return removed

    async def render(self, *, originals: MediaStorage, variants: MediaStorage, media: Media,
                     max_pixels: int) -> Rendering:
        """Decode the original and save its variants; no row changes. Keys derive from the
        original's key and the variant's content, so a second run saves the same files under the
        same keys. A bad image is a failed Rendering; errors of the storage propagate, for the job
        to be retried (a missing original is the operator's problem, or a deletion racing this
        run, which the retry finds done), never blamed on the upload."""
        original = await originals.read(media.storage_key)
        try:
            rendered = await asyncio.to_thread(processing.render, original, max_pixels=max_pixels)
        except ImageRejected as rejection:
            log.warning("media rejected", media_id=media.id, kind=rejection.kind,
                        reason=rejection.reason, cause=repr(rejection.__cause__))
            return Rendering(variants=[], failure_reason=rejection.reason)
        stem = PurePath(media.storage_key).stem
        stored = [StoredVariant(name=variant.name, content_type=variant.encoding.content_type,
                                width=variant.width, height=variant.height,
                                byte_size=len(variant.data), sha256=variant.sha256,
                                storage_key=f"{stem}-{variant.name}")
                  for variant in rendered.variants]
        await asyncio.gather(*(variants.save(entry.storage_key, variant.data)
                               for entry, variant in zip(stored, rendered.variants)))
        return Rendering(width=rendered.width, height=rendered.height,
                         blurhash=rendered.blurhash, variants=stored)

    async def record(self, *, session: AsyncSession, cache: Cache, media_id: int,
                     rendering: Rendering) -> list[str]:
        """Mark the media ready with the variants, or failed with the reason. Returns the variant
        keys nothing refers to any more, for the caller to remove once this commits."""
        saved = [variant.storage_key for variant in rendering.variants]
        media = await repository.locked(session, media_id)
        if media is None:
            # Deleted while it was being rendered: what was just saved belongs to no one.
            return saved
        superseded = [key for key in variant_keys(media) if key not in saved]
        if rendering.failure_reason is not None:
            await repository.update(session, media, status="failed",
                                    failure_reason=rendering.failure_reason, blurhash=None,
                                    variants=[])
        else:
            await repository.update(
                session, media, status="ready", failure_reason=None, width=rendering.width,
                height=rendering.height, blurhash=rendering.blurhash,
                variants=[variant.model_dump() for variant in rendering.variants])
        await cache.invalidate(keys=[cache_keys.image_key(media_id)], session=session)
        return superseded


async def discard(storage: MediaStorage, keys: list[str]) -> None:
    """Remove files no row refers to any more (missing ones are no error)."""
    for key in keys:
        await storage.delete(key)


async def _served(storage: MediaStorage, media: Media, *, public: bool, key: str,
                  content_type: str, etag: str, if_none_match: str | None) -> Served:
    """The bytes under `key`; none when the client's copy is current."""
    data = None
    if not _etag_matches(if_none_match, etag):
        data = await _read(storage, key, media_id=media.id)
    return Served(content_type=content_type, etag=etag, public=public, data=data)


async def _read(storage: MediaStorage, key: str, *, media_id: int) -> bytes:
    try:
        return await storage.read(key)
    except MissingObject:
        log.error("media bytes missing", media_id=media_id, storage_key=key)
        raise NotFound(f"The content of media {media_id} is not available.") from None


media_service = MediaService()
