"""GET /admin/cache: the cache report of the process that answers, for administrators."""

import os

from fastapi import APIRouter

from lifeceo.community.users.dependencies import CurrentUser
from lifeceo.errors import Forbidden
from lifeceo.platform.cache.dependency import AppCache
from lifeceo.platform.cache.schemas import CacheReport
from lifeceo.platform.http.openapi import problem_responses

router = APIRouter(tags=["admin"])


@router.get("/admin/cache", response_model=CacheReport, responses=problem_responses(403))
async def cache_report(user: CurrentUser, cache: AppCache):
    # Platform code knows no roles service; the one admin flag is checked here.
    if not user.is_admin:
        raise Forbidden("Only administrators may read the cache report.")
    return {**cache.report(), "pid": os.getpid()}
