"""The process's flag store for endpoints: `flags: AppFlags`."""

from typing import Annotated

from fastapi import Depends, Request

from lifeceo.platform.flags.store import FlagStore


# async: FastAPI runs a plain `def` dependency in a worker thread, a hop on every request.
async def app_flags(request: Request) -> FlagStore:
    return request.app.state.flags


AppFlags = Annotated[FlagStore, Depends(app_flags)]
