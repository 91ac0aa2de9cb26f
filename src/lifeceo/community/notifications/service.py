"""Rules about notifications: nobody is notified of their own actions, bursts of likes and RSVPs
become one line, and every action counts once however often its job runs."""

import re
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.notifications import repository
from lifeceo.community.notifications.models import Notification
from lifeceo.community.notifications.schemas import NotificationOut
from lifeceo.community.users.repository import by_ids
from lifeceo.platform.http.pagination import PageParams, page_of
from lifeceo.platform.queue import Priority, enqueue

NOTIFY_JOB = "notify"
# Kinds whose actions join the recipient's unread notification about the same subject. Each has
# one source per actor and subject, so every action that joins is a new actor.
COALESCED_KINDS = frozenset({"like", "rsvp"})
# Someone is talking to the recipient: these jobs run before likes, follows and RSVPs.
URGENT_KINDS = frozenset({"comment", "mention"})
# Actors named in a notification; the rest are counted ("@ana and 9 others").
LATEST_ACTORS = 3
PHRASES = {
    "follow": "started following you",
    "like": "liked your post",
    "comment": "commented on your post",
    "rsvp": "RSVPed to your event",
    "mention": "mentioned you",
}
# @username as users.schemas.USERNAME_PATTERN allows, not inside a word or an address
# (ana@example.org mentions nobody).
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,30})(?![\w@])")
# More names than this in one text is a roll call, not a conversation: the rest are not told.
MAX_MENTIONS = 10


class NotificationChange(NamedTuple):
    """A notification as it stands after a change, and the change's stream id."""

    stream_id: int
    notification: NotificationOut


def mentioned_usernames(body: str) -> list[str]:
    """The distinct @usernames in `body`, lowercased, in order of appearance, at most
    MAX_MENTIONS."""
    names = dict.fromkeys(match.lower() for match in MENTION.findall(body))
    return list(names)[:MAX_MENTIONS]


def summary(kind: str, actors: list[str], actor_count: int) -> str:
    """"@ana liked your post", "@ana and @bo liked your post", "@ana and 9 others liked ..."."""
    if not actors:
        return f"Someone {PHRASES[kind]}"
    if actor_count == 2 and len(actors) == 2:
        who = f"@{actors[0]} and @{actors[1]}"
    elif actor_count > 1:
        others = actor_count - 1
        who = f"@{actors[0]} and {others} {'other' if others == 1 else 'others'}"
    else:
        who = f"@{actors[0]}"
    return f"{who} {PHRASES[kind]}"


class NotificationService:
    async def notify(self, *, session: AsyncSession, recipient_id: int, actor_id: int, kind: str,
                     subject_id: int, source: str | None = None) -> None:
        """Enqueue the notification in the caller's transaction: it is written if and only if
        the action commits. `source` names the action (default `kind:subject:actor`)."""
        if recipient_id == actor_id:
            return
        await enqueue(session, NOTIFY_JOB,
                      priority=Priority.URGENT if kind in URGENT_KINDS else Priority.NORMAL,
                      recipient_id=recipient_id, actor_id=actor_id, kind=kind,
                      subject_id=subject_id, source=source or f"{kind}:{subject_id}:{actor_id}")

    async def record(self, *, session: AsyncSession, recipient_id: int, actor_id: int, kind: str,
                     subject_id: int, source: str,
                     coalesce_window: timedelta) -> NotificationChange | None:
        """Write the action into the recipient's notifications (joining an open one of its kind
        and subject, or as a new one) and return the notification as it now stands. An action
        recorded before is not counted again: its notification is returned as it stands, or
        None if that is gone."""
        await repository.lock_recipient(session, recipient_id)
        recorded = await repository.action(session, recipient_id=recipient_id, source=source)
        if recorded is not None:
            row = await repository.by_id(session, recorded.notification_id)
            return None if row is None else await self._change(session, row)
        row = None
        if kind in COALESCED_KINDS:
            row = await repository.open_row(session, recipient_id=recipient_id, kind=kind,
                                            subject_id=subject_id, window=coalesce_window)
        if row is None:
            row = await repository.add(session, recipient_id=recipient_id, actor_id=actor_id,
                                       kind=kind, subject_id=subject_id)
        else:
            row = await repository.join(session, row, actor_id=actor_id)
        await repository.add_action(session, recipient_id=recipient_id, source=source,
                                    notification_id=row.id, actor_id=actor_id)
        return await self._change(session, row)

    async def page(self, *, session: AsyncSession, recipient_id: int, page: PageParams,
                   unread_only: bool) -> tuple[list[NotificationOut], str | None]:
        rows, next_cursor = page_of(
            await repository.page_for(session, recipient_id=recipient_id, page=page,
                                      unread_only=unread_only),
            page, key=lambda row: (row.updated_at, row.stream_id))
        return await self._render(session, rows), next_cursor

    async def changed_since(self, *, session: AsyncSession, recipient_id: int, stream_id: int,
                            limit: int) -> list[NotificationChange]:
        """The latest `limit` changes after `stream_id`, oldest first: what a live stream
        resuming from `stream_id` missed."""
        rows = await repository.changed_since(session, recipient_id=recipient_id,
                                              stream_id=stream_id, limit=limit)
        return [NotificationChange(row.stream_id, notification)
                for row, notification in zip(rows, await self._render(session, rows), strict=True)]

    async def latest_stream_id(self, *, session: AsyncSession, recipient_id: int) -> int:
        return await repository.latest_stream_id(session, recipient_id=recipient_id)

    async def mark_read(self, *, session: AsyncSession, recipient_id: int,
                        ids: list[int] | None) -> tuple[int, int]:
        marked = await repository.mark_read(session, recipient_id=recipient_id, ids=ids)
        return marked, await repository.unread_count(session, recipient_id=recipient_id)

    async def _change(self, session: AsyncSession, row: Notification) -> NotificationChange:
        return NotificationChange(row.stream_id, (await self._render(session, [row]))[0])

    async def _render(self, session: AsyncSession,
                      rows: list[Notification]) -> list[NotificationOut]:
        """Two queries whatever the number of rows: their latest actors, and those users."""
        latest = await repository.latest_actor_ids(session, [row.id for row in rows],
                                                   per_row=LATEST_ACTORS)
        user_ids = {row.actor_id for row in rows} | {i for ids in latest.values() for i in ids}
        names = {user.id: user.username for user in await by_ids(session, list(user_ids))}
        items = []
        for row in rows:
            actors = [names[i] for i in latest[row.id] if i in names] or (
                [names[row.actor_id]] if row.actor_id in names else [])
            items.append(NotificationOut(
                id=row.id, kind=row.kind, actor=actors[0] if actors else "", actors=actors,
                actor_count=row.actor_count, summary=summary(row.kind, actors, row.actor_count),
                subject_id=row.subject_id, created_at=row.created_at, updated_at=row.updated_at,
                read_at=row.read_at))
        return items


notification_service = NotificationService()
