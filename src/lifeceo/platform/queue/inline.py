"""Inline mode: the job runs in the enqueuing process once the enqueuing transaction commits.

The job list hangs on the session: a rolled-back savepoint drops the jobs enqueued inside it, a
rolled-back or abandoned transaction drops them all, and a commit runs them once the session has
given its connection back. The commit (`await session.commit()`) returns after they ran, so a
request's effects are visible when its response is sent.
"""

from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.util import await_only

from lifeceo.platform.queue.context import JobContext
from lifeceo.platform.queue.execution import execute
from lifeceo.platform.queue.registry import JobDefinition

log = structlog.get_logger(__name__)
PENDING = "lifeceo.queue.inline.pending"
COMMITTED = "lifeceo.queue.inline.committed"


@dataclass
class _Pending:
    transaction: SessionTransaction
    definition: JobDefinition
    args: dict[str, Any]


async def run_after_commit(session: AsyncSession, context: JobContext,
                           definition: JobDefinition, args: dict[str, Any]) -> None:
    await session.connection()  # begins the transaction the job belongs to
    sync = session.sync_session
    if PENDING not in sync.info:
        sync.info[PENDING] = []
        event.listen(sync, "after_commit", _on_commit)
        event.listen(sync, "after_soft_rollback", _on_rollback)
        event.listen(sync, "after_transaction_end",
                     lambda session, transaction: _on_end(session, transaction, context))
    transaction = sync.get_nested_transaction() or sync.get_transaction()
    sync.info[PENDING].append(_Pending(transaction, definition, args))


def _on_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:  # a savepoint released, not the commit
        return
    session.info[COMMITTED] = session.info[PENDING]
    session.info[PENDING] = []


def _on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    session.info[PENDING] = [job for job in session.info[PENDING]
                             if not _inside(job.transaction, previous_transaction)]


def _on_end(session: Session, transaction: SessionTransaction, context: JobContext) -> None:
    if transaction.parent is not None:
        return
    committed = session.info.pop(COMMITTED, [])
    session.info[PENDING] = []
    for job in committed:
        # Inside AsyncSession.commit()'s greenlet: await_only runs the coroutine on the loop.
        await_only(_run(context, job))


def _inside(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


async def _run(context: JobContext, job: _Pending) -> None:
    try:
        await execute(context, job.definition, job.args)
    except Exception:  # the caller's data is committed: its request must not fail for this
        log.exception("inline job failed", job=job.definition.name, queue=job.definition.queue)
