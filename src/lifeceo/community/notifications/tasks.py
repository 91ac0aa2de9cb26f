"""The notifications queue's job: record one action, then push the notification to the
recipient's live streams in every process."""

from datetime import timedelta

from lifeceo.community.notifications.service import NOTIFY_JOB, notification_service
from lifeceo.community.notifications.stream import live_message
from lifeceo.platform.pubsub import publish
from lifeceo.platform.queue import JobContext, job


@job(NOTIFY_JOB, queue="notifications")
async def notify(ctx: JobContext, *, recipient_id: int, actor_id: int, kind: str,
                 subject_id: int, source: str) -> None:
    """Idempotent: a rerun finds its action recorded and only pushes the notification again,
    which streams that have it already drop. The push follows the commit, so a failed push
    (the job is retried) never leaves a client holding a notification that was rolled back."""
    window = timedelta(seconds=ctx.settings.notifications_coalesce_window_seconds)
    async with ctx.transaction() as session:
        notification = await notification_service.record(
            session=session, recipient_id=recipient_id, actor_id=actor_id, kind=kind,
            subject_id=subject_id, source=source, coalesce_window=window)
    if notification is not None:
        await publish(live_message(recipient_id, notification), settings=ctx.settings,
                      engine=ctx.engine)
