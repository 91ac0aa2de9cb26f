"""Rolling back a flag change, as a lever of the monitor's own: an error burst right after a flag
changed is most likely that change (the seed's "integration mismatch after a deploy or a flag
change"). The rollback and its undo go through the flag service, so that they are validated,
announced to every process and audited ("rollback", "restore") with the monitor as actor.

Unlike the board's levers it does not expire after a hold: a flag stays rolled back until an
administrator applies the change again, or the verification undoes it."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifeceo.errors import Conflict, NotFound, Unprocessable
from lifeceo.platform import flags
from lifeceo.platform.flags import repository as flag_repository
from lifeceo.platform.flags.schemas import FlagUpdate
from lifeceo.platform.flags.service import flag_service
from lifeceo.platform.monitor.detectors import Detection

NAME = "flag"
ROLLBACK, RESTORE = "rollback", "restore"
# Detections whose evidence names the flag change before them: errors that a change can cause.
AFTER_CHANGES = frozenset({"error_burst", "integration_method_mismatch"})
# What a definition change may have changed; a kill switch is an administrator's deliberate
# emergency stop and is never reverted by the monitor.
FIELDS = ("description", "enabled", "rollout_percentage", "groups", "starts_at", "ends_at",
          "depends_on", "client_visible", "variants")


class FlagRollback:
    name = NAME

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, actor: str) -> None:
        self._sessionmaker = sessionmaker
        self._actor = actor

    def check(self, target: str, value: str) -> str:
        """`target` is the flag, `value` the id of the audit entry of the change to revert."""
        if not target:
            raise NotFound("No flag changed shortly before this incident.")
        if not value.isdigit():
            raise Unprocessable(f"{value!r} is not an audit entry id.")
        return value

    async def pull(self, target: str, value: str, *, actor: str) -> None:
        await self.roll_back(target, int(value))

    async def undo(self, target: str, *, actor: str) -> None:
        await self.restore(target)

    async def roll_back(self, key: str, audit_id: int) -> None:
        async with self._sessionmaker() as session, session.begin():
            change = await flag_repository.audit_entry(session, audit_id)
            if change is None or change.flag_key != key or change.before is None:
                raise NotFound(f"No change {audit_id} of flag {key!r} to roll back.")
            await self._revert(session, key, to=change.before, expected=change.after,
                               action=ROLLBACK)

    async def restore(self, key: str) -> None:
        async with self._sessionmaker() as session, session.begin():
            rollback = await flag_repository.last_change(session, key, actor=self._actor,
                                                         action=ROLLBACK)
            if rollback is None:
                raise NotFound(f"The monitor rolled back no change of flag {key!r}.")
            await self._revert(session, key, to=rollback.before, expected=rollback.after,
                               action=RESTORE)

    async def _revert(self, session: AsyncSession, key: str, *, to: dict[str, Any],
                      expected: dict[str, Any], action: str) -> None:
        flag = await flag_repository.get_flag(session, key, for_update=True)
        if flag is None:
            raise NotFound(f"No feature flag {key!r}.")
        if flag_repository.as_json(flag) != expected:
            # Someone changed it since: their change is newer than anything the monitor knows.
            raise Conflict(f"Flag {key!r} changed again since; left as it is.")
        await flag_service.update(
            session=session, actor=self._actor, key=key, action=action,
            body=FlagUpdate.model_validate({name: to[name] for name in FIELDS}),
            expected_version=flag.version, announce=flags.current().announce)


async def with_suspect(session: AsyncSession, detection: Detection, *,
                       opened_at: datetime | None, within: timedelta) -> Detection:
    """An error burst or a new error group with the last flag change of the `within` before its
    incident opened in its evidence (rollback_flag's target), if there was one."""
    if detection.detector not in AFTER_CHANGES or opened_at is None:
        return detection
    change = await flag_repository.change_before(
        session, until=opened_at, within=within, action="update")
    if change is None:
        return detection
    return Detection(detection.detector, detection.label, detection.severity,
                     detection.summary, {**detection.evidence, "flag_change": {
                         "key": change.flag_key, "audit_id": change.id, "actor": change.actor,
                         "changed_at": change.changed_at.isoformat()}})


def suspect_flag(detection: Detection) -> str:
    return detection.evidence.get("flag_change", {}).get("key", "")


def suspect_change(detection: Detection) -> str:
    return str(detection.evidence.get("flag_change", {}).get("audit_id", ""))
