"""Names of what the media package caches, for the readers (posts) and the writers (the
processing job, deletion) alike."""

# Invalidated when processing records its outcome and when the media is deleted; the TTL only
# bounds what a change made outside the application can cost.
IMAGE_TTL_SECONDS = 300


def image_key(media_id: int) -> str:
    """A MediaImage: how posts show the media."""
    return f"media:{media_id}"
