"""All SQL of the flag store: definitions, and the audit log of their changes."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from lifeceo.platform.flags.evaluation import FlagDefinition
from lifeceo.platform.flags.models import FeatureFlag, FlagAudit

COLUMNS = ("key", "description", "enabled", "killed", "rollout_percentage", "groups", "starts_at",
           "ends_at", "depends_on", "client_visible", "variants", "version")


def definition_of(row) -> FlagDefinition:
    return FlagDefinition(
        key=row.key, description=row.description, enabled=row.enabled, killed=row.killed,
        rollout_percentage=Decimal(row.rollout_percentage), groups=tuple(row.groups),
        starts_at=row.starts_at, ends_at=row.ends_at, depends_on=tuple(row.depends_on),
        client_visible=row.client_visible,
        variants=tuple((variant["name"], int(variant["weight"])) for variant in row.variants),
        version=row.version)


def as_json(flag: FeatureFlag) -> dict:
    """The definition as the audit log keeps it."""
    values = {name: getattr(flag, name) for name in COLUMNS}
    values["rollout_percentage"] = float(values["rollout_percentage"])
    for name in ("starts_at", "ends_at"):
        if isinstance(values[name], datetime):
            values[name] = values[name].isoformat()
    values["groups"] = list(values["groups"])
    values["depends_on"] = list(values["depends_on"])
    return values


async def all_definitions(connection: AsyncConnection) -> list[FlagDefinition]:
    rows = await connection.execute(select(*(getattr(FeatureFlag, name) for name in COLUMNS)))
    return [definition_of(row) for row in rows]


async def list_flags(session: AsyncSession) -> Sequence[FeatureFlag]:
    return (await session.scalars(select(FeatureFlag).order_by(FeatureFlag.key))).all()


async def get_flag(session: AsyncSession, key: str, *, for_update: bool = False
                   ) -> FeatureFlag | None:
    query = select(FeatureFlag).where(FeatureFlag.key == key)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def existing_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    return set(await session.scalars(select(FeatureFlag.key).where(FeatureFlag.key.in_(keys))))


async def dependency_edges(session: AsyncSession) -> dict[str, list[str]]:
    rows = await session.execute(select(FeatureFlag.key, FeatureFlag.depends_on))
    return {row.key: list(row.depends_on) for row in rows}


async def insert_flag(session: AsyncSession, values: dict) -> FeatureFlag | None:
    """The new flag, or None if the key exists."""
    inserted = await session.scalar(
        insert(FeatureFlag).values(**values).on_conflict_do_nothing(index_elements=["key"])
        .returning(FeatureFlag))
    return inserted


async def update_flag(session: AsyncSession, flag: FeatureFlag, changes: dict) -> FeatureFlag:
    """Apply the changes and bump the version (the row is locked by the caller)."""
    await session.execute(
        update(FeatureFlag).where(FeatureFlag.key == flag.key)
        .values(**changes, version=FeatureFlag.version + 1, updated_at=func.now()))
    await session.refresh(flag)
    return flag


async def add_audit(session: AsyncSession, *, key: str, actor: str, action: str,
                    before: dict | None, after: dict | None) -> None:
    session.add(FlagAudit(flag_key=key, actor=actor, action=action, before=before, after=after))
    await session.flush()


async def audit_entries(session: AsyncSession, *, key: str | None, before_id: int | None,
                        limit: int) -> Sequence[FlagAudit]:
    query = select(FlagAudit).order_by(FlagAudit.id.desc()).limit(limit)
    if key is not None:
        query = query.where(FlagAudit.flag_key == key)
    if before_id is not None:
        query = query.where(FlagAudit.id < before_id)
    return (await session.scalars(query)).all()


async def change_before(session: AsyncSession, *, until: datetime, within: timedelta,
                        action: str) -> FlagAudit | None:
    """The last flag change of kind `action` in the `within` up to `until`."""
    return await session.scalar(
        select(FlagAudit)
        .where(FlagAudit.action == action, FlagAudit.before.is_not(None),
               FlagAudit.changed_at > until - within, FlagAudit.changed_at <= until)
        .order_by(FlagAudit.changed_at.desc(), FlagAudit.id.desc()).limit(1))


async def audit_entry(session: AsyncSession, audit_id: int) -> FlagAudit | None:
    return await session.get(FlagAudit, audit_id)


async def last_change(session: AsyncSession, key: str, *, actor: str,
                      action: str) -> FlagAudit | None:
    return await session.scalar(
        select(FlagAudit)
        .where(FlagAudit.flag_key == key, FlagAudit.actor == actor, FlagAudit.action == action)
        .order_by(FlagAudit.id.desc()).limit(1))
