"""GET /admin/cache: the cache report of the process that answers, for administrators."""

import os

from fastapi import APIRouter, Depends

from lifeceo.platform.cache.dependency import AppCache
from lifeceo.platform.cache.schemas import CacheReport
from lifeceo.platform.http.identity import administrator

router = APIRouter(tags=["admin"])


@router.get("/admin/cache", response_model=CacheReport, dependencies=[Depends(administrator)])
async def cache_report(cache: AppCache):
    return {**cache.report(), "pid": os.getpid()}
