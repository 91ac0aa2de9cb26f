"""Rules of flag changes: validation, optimistic concurrency, the audit log, and announcing each
committed change to every process."""

from collections.abc import Awaitable, Callable, Iterable, Sequence

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.util import await_only

from lifeceo.errors import Conflict, LifeceoError, NotFound, Unprocessable
from lifeceo.platform.flags import repository
from lifeceo.platform.flags.models import FeatureFlag, FlagAudit
from lifeceo.platform.flags.schemas import FlagCreate, FlagUpdate

log = structlog.get_logger(__name__)
Announce = Callable[[list[str]], Awaitable[None]]
_PENDING = "lifeceo.flags.pending"
_COMMITTED = "lifeceo.flags.committed"


class PreconditionRequired(LifeceoError):
    status = 428
    title = "Precondition Required"


class FlagService:
    async def list_flags(self, *, session: AsyncSession) -> Sequence[FeatureFlag]:
        return await repository.list_flags(session)

    async def get(self, *, session: AsyncSession, key: str) -> FeatureFlag:
        flag = await repository.get_flag(session, key)
        if flag is None:
            raise NotFound(f"No feature flag {key!r}.")
        return flag

    async def create(self, *, session: AsyncSession, actor: str, body: FlagCreate,
                     announce: Announce) -> FeatureFlag:
        values = body.model_dump(exclude_unset=True, exclude_none=True)
        await self._check_dependencies(session, body.key, values.get("depends_on"))
        flag = await repository.insert_flag(session, values)
        if flag is None:
            raise Conflict(f"The feature flag {body.key!r} exists; update it instead.")
        await repository.add_audit(session, key=flag.key, actor=actor, action="create",
                                   before=None, after=repository.as_json(flag))
        _announce_after_commit(session, [flag.key], announce)
        return flag

    async def update(self, *, session: AsyncSession, actor: str, key: str, body: FlagUpdate,
                     expected_version: int | None, announce: Announce,
                     action: str = "update") -> FeatureFlag:
        """Apply the fields given. `expected_version` None means last writer wins (the CLI)."""
        flag = await repository.get_flag(session, key, for_update=True)
        if flag is None:
            raise NotFound(f"No feature flag {key!r}.")
        if expected_version is not None and expected_version != flag.version:
            raise Conflict(f"The flag {key!r} changed since version {expected_version} was read; "
                           "read it again and reapply the change.", current_version=flag.version)
        changes = body.model_dump(exclude_unset=True, exclude={"version"})
        for name in ("description", "enabled", "rollout_percentage", "groups", "depends_on",
                     "client_visible", "variants"):
            if name in changes and changes[name] is None:
                raise Unprocessable(f"{name} cannot be null.")
        starts = changes.get("starts_at", flag.starts_at)
        ends = changes.get("ends_at", flag.ends_at)
        if starts and ends and ends <= starts:
            raise Unprocessable("ends_at must be after starts_at.")
        if "depends_on" in changes:
            await self._check_dependencies(session, key, changes["depends_on"])
        return await self._change(session, flag, changes, actor=actor, action=action,
                                  announce=announce)

    async def kill(self, *, session: AsyncSession, actor: str, key: str, killed: bool,
                   announce: Announce) -> FeatureFlag:
        """Turn the flag off for everyone (or clear that), whatever its version."""
        flag = await repository.get_flag(session, key, for_update=True)
        if flag is None:
            raise NotFound(f"No feature flag {key!r}.")
        return await self._change(session, flag, {"killed": killed}, actor=actor,
                                  action="kill" if killed else "unkill", announce=announce)

    async def audit(self, *, session: AsyncSession, key: str | None, before_id: int | None,
                    limit: int) -> Sequence[FlagAudit]:
        return await repository.audit_entries(session, key=key, before_id=before_id, limit=limit)

    async def _change(self, session: AsyncSession, flag: FeatureFlag, changes: dict, *,
                      actor: str, action: str, announce: Announce) -> FeatureFlag:
        before = repository.as_json(flag)
        flag = await repository.update_flag(session, flag, changes)
        await repository.add_audit(session, key=flag.key, actor=actor, action=action,
                                   before=before, after=repository.as_json(flag))
        _announce_after_commit(session, [flag.key], announce)
        return flag

    async def _check_dependencies(self, session: AsyncSession, key: str,
                                  depends_on: list[str] | None) -> None:
        if not depends_on:
            return
        if key in depends_on:
            raise Unprocessable("A flag cannot depend on itself.")
        missing = set(depends_on) - await repository.existing_keys(session, depends_on)
        if missing:
            raise Unprocessable(f"depends_on names unknown flags: {', '.join(sorted(missing))}.")
        edges = await repository.dependency_edges(session)
        edges[key] = list(depends_on)
        if _reaches(edges, start=depends_on, target=key):
            raise Unprocessable(f"depends_on would make {key!r} depend on itself (a cycle).")


def _reaches(edges: dict[str, list[str]], *, start: Iterable[str], target: str) -> bool:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        node = stack.pop()
        if node == target:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(edges.get(node, ()))
    return False


def _announce_after_commit(session: AsyncSession, keys: list[str], announce: Announce) -> None:
    """Once the session's transaction commits (never after a rollback), every process hears of
    these flags; the commit returns after this process has reloaded its own snapshot."""
    sync = session.sync_session
    if _PENDING not in sync.info:
        sync.info[_PENDING] = []
        event.listen(sync, "after_commit", _on_commit)
        event.listen(sync, "after_transaction_end", _on_end)
    sync.info[_PENDING].append((keys, announce))


def _on_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:  # a savepoint released, not the commit
        return
    session.info[_COMMITTED] = session.info[_PENDING]
    session.info[_PENDING] = []


def _on_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    committed = session.info.pop(_COMMITTED, [])
    session.info[_PENDING] = []
    for keys, announce in committed:
        # Inside AsyncSession.commit()'s greenlet: await_only runs the coroutine on the loop.
        await_only(_safely(announce, keys))


async def _safely(announce: Announce, keys: list[str]) -> None:
    try:
        await announce(keys)
    except Exception:  # committed already; the periodic resync carries the change
        log.warning("feature flag change not announced", flags=keys, exc_info=True)


flag_service = FlagService()
