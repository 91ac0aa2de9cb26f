"""How media appear in responses: variant URLs per format and width (srcset-ready) and the
placeholder. Imports nothing of posts, so that posts can import it."""

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.caching import cached_many
from lifeceo.community.media import cache_keys, repository
from lifeceo.community.media.models import Media
from lifeceo.community.media.schemas import MediaImage, StoredVariant, VariantOut
from lifeceo.platform import flags
from lifeceo.platform.cache import Cache
from lifeceo.platform.flags.defaults import ON_BY_DEFAULT, SMART_RESOURCE_LOADING

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


def smart_loading() -> bool:
    """The smart-resource-loading flag: variants, srcset and preload hints in responses."""
    return flags.current().is_enabled(SMART_RESOURCE_LOADING,
                                      ON_BY_DEFAULT[SMART_RESOURCE_LOADING])


def shown(image: MediaImage) -> MediaImage:
    """The image as responses show it now: without variants and srcset while the flag is off
    (clients then load /content, the original). Applied after the cache, which keeps both."""
    if smart_loading() or not image.variants:
        return image
    return image.model_copy(update={"variants": [], "srcset": {}})


def preload_link(image: MediaImage | None) -> str | None:
    """A Link header that has the browser fetch the image while it reads the page: the
    WebP srcset when there is one (every browser in use decodes WebP), else JPEG."""
    if image is None or not image.srcset or not smart_loading():
        return None
    content_type = "image/webp" if "image/webp" in image.srcset else min(image.srcset)
    largest = max((variant for variant in image.variants
                   if variant.content_type == content_type), key=lambda variant: variant.width)
    return (f'<{largest.url}>; rel=preload; as=image; type="{content_type}"; '
            f'imagesrcset="{image.srcset[content_type]}"; imagesizes="100vw"')


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
    return {media_id: shown(MediaImage.model_validate(image))
            for media_id, image in found.items()}
