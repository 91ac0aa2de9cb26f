"""/api/v1/flags for clients, /api/v1/admin/flags and /admin/flag-audit for administrators."""

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from lifeceo.platform.db.session import DbSession
from lifeceo.platform.flags.dependency import AppFlags
from lifeceo.platform.flags.schemas import (
    FLAG_KEY_PATTERN,
    AuditEntry,
    ClientFlag,
    ClientFlags,
    Flag,
    FlagCreate,
    FlagUpdate,
    KillSwitch,
)
from lifeceo.platform.flags.service import PreconditionRequired, flag_service
from lifeceo.platform.flags.targeting import remember_visitor, user_target, visitor_target
from lifeceo.platform.http.identity import Administrator, OptionalPrincipal, administrator
from lifeceo.platform.http.openapi import problem_responses
from lifeceo.platform.http.pagination import Page, Pagination, page_of

KeyPath = Annotated[str, Path(pattern=FLAG_KEY_PATTERN)]
# If-Match: "3" or W/"3" (the version an ETag named); a compressed response's tag carries its
# coding ("3-br", httpcache/compression.py), which names the same version.
VERSION_TAG = re.compile(r'^\s*(?:W/)?"(\d{1,9})(?:-(?:br|gzip))?"\s*$')


router = APIRouter(tags=["flags"])
admin = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(administrator)])


@router.get("/flags", response_model=ClientFlags,
            summary="The client-visible flags, evaluated for the caller")
async def client_flags(request: Request, response: Response, flags: AppFlags,
                       viewer: OptionalPrincipal):
    target = user_target(viewer.id, viewer.groups) if viewer else visitor_target(request)
    evaluated = {}
    for definition in flags.definitions():
        if not definition.client_visible:
            continue
        result = flags.evaluate(definition.key, targeting_key=target.key, groups=target.groups)
        if result is not None:
            # What the client is told is what it shows: an experiment's variant counts as seen.
            flags.exposed(result, user_id=viewer.id if viewer else None)
            evaluated[definition.key] = ClientFlag(enabled=result.enabled,
                                                   variant=result.variant,
                                                   reason=result.reason.value)
    if viewer is None:
        remember_visitor(request, response, target,
                         production=request.app.state.settings.env == "production")
    return ClientFlags(flags=dict(sorted(evaluated.items())))


def _tagged(response: Response, flag) -> Flag:
    response.headers["etag"] = f'"{flag.version}"'
    return Flag.model_validate(flag)


@admin.get("/flags", response_model=Page[Flag], summary="Every feature flag")
async def list_flags(session: DbSession):
    flags = await flag_service.list_flags(session=session)
    return Page(items=[Flag.model_validate(flag) for flag in flags], next_cursor=None)


@admin.post("/flags", response_model=Flag, status_code=201, summary="Create a feature flag",
            responses=problem_responses(409))
async def create_flag(body: FlagCreate, response: Response, session: DbSession, flags: AppFlags,
                      user: Administrator):
    flag = await flag_service.create(session=session, actor=f"user:{user.id}", body=body,
                                     announce=flags.announce)
    return _tagged(response, flag)


@admin.get("/flags/{key}", response_model=Flag, summary="One feature flag (ETag: its version)")
async def read_flag(key: KeyPath, response: Response, session: DbSession):
    return _tagged(response, await flag_service.get(session=session, key=key))


@admin.patch("/flags/{key}", response_model=Flag,
             summary="Change a flag: If-Match or `version` names the version read (409 if stale)",
             responses=problem_responses(409, 428))
async def update_flag(key: KeyPath, body: FlagUpdate, response: Response, session: DbSession,
                      flags: AppFlags, user: Administrator,
                      if_match: Annotated[str | None, Header(max_length=100)] = None):
    expected = body.version
    if if_match is not None:
        match = VERSION_TAG.match(if_match)
        if match is None:
            raise PreconditionRequired('If-Match must be the ETag of a read, e.g. "3".')
        expected = int(match[1])
    if expected is None:
        raise PreconditionRequired("Send If-Match (the flag's ETag) or the version you read, so "
                                   "that a change made meanwhile is not overwritten.")
    flag = await flag_service.update(session=session, actor=f"user:{user.id}", key=key,
                                     body=body, expected_version=expected,
                                     announce=flags.announce)
    return _tagged(response, flag)


@admin.post("/flags/{key}/kill", response_model=Flag,
            summary="Kill switch: off for everyone at once (`{\"killed\": false}` clears it)")
async def kill_flag(key: KeyPath, response: Response, session: DbSession, flags: AppFlags,
                    user: Administrator, body: KillSwitch | None = None):
    flag = await flag_service.kill(session=session, actor=f"user:{user.id}", key=key,
                                   killed=(body or KillSwitch()).killed, announce=flags.announce)
    return _tagged(response, flag)


@admin.get("/flag-audit", response_model=Page[AuditEntry],
           summary="Every change to flags, newest first")
async def audit_log(session: DbSession, page: Pagination,
                    flag: Annotated[str | None, Query(pattern=FLAG_KEY_PATTERN)] = None):
    entries = await flag_service.audit(session=session, key=flag,
                                       before_id=page.after[1] if page.after else None,
                                       limit=page.limit + 1)
    items, cursor = page_of(list(entries), page, key=lambda entry: (entry.changed_at, entry.id))
    return Page(items=[AuditEntry.model_validate(entry) for entry in items], next_cursor=cursor)


router.include_router(admin)
