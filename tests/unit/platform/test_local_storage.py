import os

import pytest

from lifeceo.platform.storage import InvalidKey, MissingObject
from lifeceo.platform.storage.local import LocalDiskStorage


@pytest.fixture
def storage(tmp_path) -> LocalDiskStorage:
    return LocalDiskStorage(tmp_path / "media")


async def test_save_read_exists_delete(storage):
    assert not await storage.exists("a1b2.png")
    await storage.save("a1b2.png", b"\x89PNG bytes")
    assert await storage.exists("a1b2.png")
    assert await storage.read("a1b2.png") == b"\x89PNG bytes"
    assert (storage.root / "a1b2.png").read_bytes() == b"\x89PNG bytes"

    await storage.save("a1b2.png", b"replaced")
    assert await storage.read("a1b2.png") == b"replaced"

    await storage.delete("a1b2.png")
    assert not await storage.exists("a1b2.png")
    with pytest.raises(MissingObject):
        await storage.read("a1b2.png")
    # Deleting twice is not an error: a retried cleanup must not fail.
    await storage.delete("a1b2.png")


async def test_a_write_leaves_only_the_object(storage):
    await storage.save("first.jpg", b"x" * 100_000)
    await storage.save("second.webp", b"")
    assert sorted(path.name for path in storage.root.iterdir()) == ["first.jpg", "second.webp"]
    assert await storage.read("second.webp") == b""


async def test_a_failed_write_leaves_neither_temp_file_nor_object(storage, monkeypatch):
    await storage.save("kept.png", b"old")

    def crash(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        await storage.save("new.png", b"new")
    with pytest.raises(OSError, match="disk full"):
        await storage.save("kept.png", b"overwritten")
    assert [path.name for path in storage.root.iterdir()] == ["kept.png"]
    assert await storage.read("kept.png") == b"old"


@pytest.mark.parametrize("key", [
    "../x", "..", ".", "a/../../x", "a/b", "/etc/passwd", "..\\x", "", ".hidden", ".tmp-abc",
    "x\x00.png", "name with space.png", "é.png", "a" * 201,
])
async def test_keys_that_could_escape_or_collide_are_refused(storage, tmp_path, key):
    for operation in (storage.save(key, b"x"), storage.read(key), storage.delete(key),
                      storage.exists(key)):
        with pytest.raises(InvalidKey):
            await operation
    assert list(tmp_path.iterdir()) == []
