"""The process's cache for endpoints and services: `cache: AppCache`."""

from typing import Annotated

from fastapi import Depends, Request

from lifeceo.platform.cache.service import Cache


# async: FastAPI runs a plain `def` dependency in a worker thread, a hop on every request.
async def app_cache(request: Request) -> Cache:
    return request.app.state.cache


AppCache = Annotated[Cache, Depends(app_cache)]
