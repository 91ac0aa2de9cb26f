"""Media on the local disk: one file per key in a flat directory, written atomically."""

import asyncio
import os
import re
import tempfile
from pathlib import Path

from lifeceo.platform.storage import InvalidKey, MissingObject

# Letters, digits, dot, dash, underscore; no leading dot, so that keys never collide with the
# hidden temporary files and a key can never be "." or "..".
SAFE_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$")
TEMP_PREFIX = ".tmp-"


class LocalDiskStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not SAFE_KEY.fullmatch(key):
            raise InvalidKey(f"Not a storage key: {key!r}")
        return self.root / key

    async def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        await asyncio.to_thread(self._write_atomically, path, data)

    def _write_atomically(self, path: Path, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # Same directory as the target, so that os.replace is a rename within one filesystem.
        descriptor, temp_name = tempfile.mkstemp(dir=self.root, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(descriptor, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        # An acknowledged upload must survive a crash: the rename itself lives in the directory.
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    async def read(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise MissingObject(key) from None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        path = self._path(key)
        return await asyncio.to_thread(path.is_file)
