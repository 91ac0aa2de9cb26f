"""The image pipeline: an upload decoded under limits, turned upright, stripped of its metadata and
rendered as the WebP and JPEG variants that are served, with a blurhash placeholder.

Pure and CPU-bound (0.6-0.9 s for a 12-megapixel JPEG here): callers run it in a worker thread.
Every step works on bytes from a stranger, and the same bytes always fail the same way, so any
error while decoding or encoding is a rejected image, never a reason to retry."""

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import blurhash
from PIL import ExifTags, Image, ImageCms, ImageOps

# What the upload sniffs; Pillow is never asked to guess among its other parsers.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
# Widths of the variants: a phone thumbnail, a feed column, a full-screen view. An image narrower
# than the largest also gets a variant at its own width, so the sharpest copy is never upscaled
# and never thrown away (500 px wide: 320 and 500).
VARIANT_WIDTHS_PX = (320, 800, 1600)
# WebP cannot encode a side longer than this; a very tall image's variants are narrower instead.
MAX_VARIANT_SIDE_PX = 16_383
# The usual web qualities. WebP's default effort (method 4): on the test photo, method 6 took
# 1.6x as long for 0.1 % fewer bytes, and the 1600 px WebP is already half of the 12 MP budget.
JPEG_QUALITY = 82
WEBP_QUALITY = 80
WEBP_METHOD = 4
# The placeholder is computed on a thumbnail this size: blurhash is pure Python, O(pixels).
BLURHASH_THUMBNAIL_PX = 32
BLURHASH_COMPONENTS_LONG_SIDE = 4
BLURHASH_COMPONENTS_SHORT_SIDE = 3
# Browsers show untagged pixels as sRGB, so that is what variants hold once profiles are dropped.
SRGB = ImageCms.createProfile("sRGB")
# Orientations 5 to 8 turn the image a quarter: the stored width is the shown height.
QUARTER_TURNS = {5, 6, 7, 8}

Rejection = Literal["truncated", "bomb", "undecodable"]


class ImageRejected(Exception):
    """The bytes cannot become a served image; the message says why, for the owner to read."""

    def __init__(self, kind: Rejection, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class Encoding:
    content_type: str
    pillow_format: str
    extension: str
    options: dict


WEBP = Encoding("image/webp", "WEBP", "webp", {"quality": WEBP_QUALITY, "method": WEBP_METHOD})
# Progressive: a partial download already shows the whole picture, and it is a few % smaller.
JPEG = Encoding("image/jpeg", "JPEG", "jpg",
                {"quality": JPEG_QUALITY, "optimize": True, "progressive": True})
ENCODINGS = (WEBP, JPEG)


@dataclass(frozen=True)
class Variant:
    encoding: Encoding
    width: int
    height: int
    data: bytes

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def name(self) -> str:
        """Unique per content, so that whatever is served under it never changes."""
        return f"{self.width}w-{self.sha256[:16]}.{self.encoding.extension}"


@dataclass(frozen=True)
class Rendered:
    # As shown, after the EXIF orientation is applied.
    width: int
    height: int
    blurhash: str
    variants: list[Variant]


def read_header(data: bytes, pillow_format: str, *, max_pixels: int) -> tuple[int, int]:
    """The stored width and height, read from the header alone (nothing is decoded), plus the
    checks that need no decoding: the declared pixel count and, for PNG, every chunk's CRC."""
    with _rejecting_malformed(), _opened(data, [pillow_format]) as image:
        size = _checked_size(image, max_pixels)
        image.verify()
    return size


def render(data: bytes, *, max_pixels: int) -> Rendered:
    """The variants, upright and without metadata, and the placeholder; ImageRejected if the
    bytes are not a whole image of an allowed format within the pixel limit."""
    with _rejecting_malformed(), _opened(data, list(ALLOWED_FORMATS)) as image:
        stored_width, stored_height = _checked_size(image, max_pixels)
        turned = image.getexif().get(ExifTags.Base.Orientation) in QUARTER_TURNS
        width, height = (stored_height, stored_width) if turned else (stored_width, stored_height)
        sizes = variant_sizes(width, height)
        largest_width, largest_height = sizes[-1]
        # JPEG only (a no-op elsewhere): decode at 1/2, 1/4 or 1/8 scale while that still
        # leaves at least the largest variant's pixels; a 12 MP photo then decodes at 3 MP.
        image.draft(None, (largest_height, largest_width) if turned else sizes[-1])
        image.load()
        upright = _in_srgb(ImageOps.exif_transpose(image))
        variants: list[Variant] = []
        scaled = upright
        # Largest first, each from the previous one: the small ones cost little.
        for variant_width, variant_height in reversed(sizes):
            scaled = scaled.resize((variant_width, variant_height), Image.Resampling.LANCZOS)
            variants.extend(_encoded(scaled, encoding) for encoding in ENCODINGS)
        placeholder = _blurhash(scaled)
    variants.sort(key=lambda variant: (variant.encoding.extension, variant.width))
    return Rendered(width=width, height=height, blurhash=placeholder, variants=variants)


def variant_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The (width, height) of each variant of an image shown at this size, narrowest first."""
    widths = [w for w in VARIANT_WIDTHS_PX if w < width] + [min(width, VARIANT_WIDTHS_PX[-1])]
    sizes: list[tuple[int, int]] = []
    for nominal in widths:
        scale = min(nominal / width, MAX_VARIANT_SIDE_PX / height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size not in sizes:
            sizes.append(size)
    return sizes


def _opened(data: bytes, formats: list[str]) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=formats)


def _checked_size(image: Image.Image, max_pixels: int) -> tuple[int, int]:
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected("bomb", f"The image declares {width}x{height} pixels; at most "
                                    f"{max_pixels} are accepted.")
    return width, height


@contextmanager
def _rejecting_malformed() -> Iterator[None]:
    """Every error of Pillow's parsers and codecs, raised as ImageRejected."""
    try:
        yield
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own ceiling, hit while parsing a header that declares a huge size (the
        # warning only where warnings are errors).
        raise ImageRejected("bomb", "The image declares far too many pixels.") from error
    except Exception as error:
        if isinstance(error, EOFError) or "truncated" in str(error).lower():
            raise ImageRejected("truncated",
                                "The file is truncated: the image data ends early.") from error
        # Pillow's message stays in the cause, for the log: some name objects by address, and
        # the same bytes must always give the same reason.
        raise ImageRejected("undecodable",
                            "The file is not a decodable JPEG, PNG or WebP image.") from error


def _in_srgb(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has transparency, converted to sRGB from any embedded
    profile (phone photos are often Display P3) so that dropping the profile keeps the colours."""
    mode = "RGBA" if image.has_transparency_data else "RGB"
    profile = image.info.get("icc_profile")
    if profile:
        try:
            return ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                                             SRGB, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            # A broken profile, or one that does not fit the pixels: show them as browsers would.
            pass
    return image.convert(mode)


def _flattened(image: Image.Image) -> Image.Image:
    """RGB; transparency composited onto white, as a page background would show it."""
    if image.mode != "RGBA":
        return image
    flat = Image.new("RGB", image.size, (255, 255, 255))
    flat.paste(image, mask=image.getchannel("A"))
    return flat


def _encoded(image: Image.Image, encoding: Encoding) -> Variant:
    if encoding is JPEG:
        # JPEG has no transparency.
        image = _flattened(image)
    buffer = io.BytesIO()
    # Neither exif= nor icc_profile= is passed: the variant carries no metadata at all.
    image.save(buffer, encoding.pillow_format, **encoding.options)
    return Variant(encoding=encoding, width=image.width, height=image.height,
                   data=buffer.getvalue())


def _blurhash(image: Image.Image) -> str:
    thumbnail = _flattened(image).copy()
    thumbnail.thumbnail((BLURHASH_THUMBNAIL_PX, BLURHASH_THUMBNAIL_PX))
    width, height = thumbnail.size
    raw, stride = thumbnail.tobytes(), width * 3
    # Rows of (r, g, b) pixels, as blurhash takes them.
    rows = [[raw[x:x + 3] for x in range(y * stride, (y + 1) * stride, 3)] for y in range(height)]
    wide = width >= height
    return blurhash.encode(
        rows,
        components_x=BLURHASH_COMPONENTS_LONG_SIDE if wide else BLURHASH_COMPONENTS_SHORT_SIDE,
        components_y=BLURHASH_COMPONENTS_SHORT_SIDE if wide else BLURHASH_COMPONENTS_LONG_SIDE)
