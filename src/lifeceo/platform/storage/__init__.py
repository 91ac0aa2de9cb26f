"""Where uploaded bytes are kept, behind a small interface so that an object store can replace
the disk."""

from typing import Protocol


class InvalidKey(ValueError):
    """A key that could name something outside the storage (a path, a hidden or empty name)."""


class MissingObject(LookupError):
    """Nothing is stored under the key."""


class MediaStorage(Protocol):
    async def save(self, key: str, data: bytes) -> None:
        """Store the bytes under the key, all or nothing: a reader never sees a partial object."""

    async def read(self, key: str) -> bytes:
        """The stored bytes; MissingObject when there are none."""

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing one is not an error."""

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under the key."""
