"""argon2id password hashing, off the event loop (a hash costs tens of milliseconds of CPU)."""

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lifeceo.settings import get_settings

hasher = PasswordHasher(time_cost=get_settings().password_hash_time_cost,
                        memory_cost=get_settings().password_hash_memory_kib)


# Verified against when the user does not exist, so that timing does not reveal usernames.
# Computed on first use, in the verifying thread: at import it was 0.12-0.6 s of every worker's
# start, on the event loop's thread.
@cache
def _dummy_hash() -> str:
    return hasher.hash("not a real password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return (hasher.verify(password_hash or _dummy_hash(), password)
                    and password_hash is not None)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)
