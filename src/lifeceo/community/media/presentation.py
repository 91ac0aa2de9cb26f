"""How media appear in responses: variant URLs per format and width (srcset-ready) and the
placeholder. Imports nothing of posts, so that posts can import it."""

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.caching import cached_many
from lifeceo.community.media import cache_keys, repository
from lifeceo.community.media.models import Media
from lifeceo.community.media.schemas import MediaImage, StoredVariant, VariantOut
from lifeceo.platform.cache import Cache

# Relative, like every URL the API returns; the route is media_variant in endpoints.
VARIANT_PATH = "/api/v1/media/{media_id}/variants/{name}"


def variant_url(media_id: int, name: str) -> str:
    return VARIANT_PATH.format(media_id=media_id, name=name)


def image_of(media: Media) -> MediaImage:
    variants = [StoredVariant.model_validate(stored) for stored in media.variants]
    out = [VariantOut(content_type=variant.content_type, width=variant.width,
                      height=variant.height, url=variant_url(media.id, variant.name))
           for variant in sorted(variants, key=lambda v: (v.content_type, v.width))]
    srcset: dict[str, list[str]] = {}
    for variant in out:
        srcset.setdefault(variant.content_type, []).append(f"{variant.url} {variant.width}w")
    return MediaImage(id=media.id, status=media.status, width=media.width, height=media.height,
                      blurhash=media.blurhash, variants=out,
                      srcset={content_type: ", ".join(entries)
                              for content_type, entries in srcset.items()})


async def media_images(*, session: AsyncSession, cache: Cache,
                       media_ids: Iterable[int]) -> dict[int, MediaImage]:
    """How each of the media that exist is shown; the uncached ones read in one query."""
    async def load(missing: list[int]) -> dict[int, dict]:
        return {media.id: image_of(media).model_dump(mode="json")
                for media in await repository.by_ids(session, missing)}

    keys = {media_id: cache_keys.image_key(media_id) for media_id in media_ids}
    if not keys:
        return {}
    found = await cached_many(cache, session, keys, load, ttl=cache_keys.IMAGE_TTL_SECONDS)
    return {media_id: MediaImage.model_validate(image) for media_id, image in found.items()}
