"""Messages written as .eml files to a directory: what development and tests get instead of a
mail server."""

import hashlib
from email.message import EmailMessage
from pathlib import Path

from lifeceo.platform.storage.local import LocalDiskStorage


class OutboxMailer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Written aside and renamed into place: a reader never sees half a message.
        self._files = LocalDiskStorage(directory)

    def path_of(self, message: EmailMessage) -> Path:
        """Named after the Message-ID, so that sending a message again replaces its file."""
        digest = hashlib.sha256(message["Message-ID"].encode()).hexdigest()
        return self.directory / f"{digest[:40]}.eml"

    async def send(self, message: EmailMessage) -> None:
        await self._files.save(self.path_of(message).name, message.as_bytes())
