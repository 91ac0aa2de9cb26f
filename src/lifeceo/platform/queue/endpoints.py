"""/api/v1/admin/jobs: dead letters and the queues, for administrators."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.identity import administrator
from lifeceo.platform.http.openapi import problem_responses
from lifeceo.platform.http.pagination import Page, Pagination, RowId, page_of
from lifeceo.platform.queue.schemas import Job, JobDetail, JobStatus, Purged, QueueName, QueueReport
from lifeceo.platform.queue.service import job_service

router = APIRouter(prefix="/admin/jobs", tags=["admin"], dependencies=[Depends(administrator)])


@router.get("", response_model=Page[Job], summary="Jobs, newest first")
async def list_jobs(session: DbSession, page: Pagination,
                    status: Annotated[JobStatus | None, Query()] = None,
                    queue: Annotated[QueueName | None, Query()] = None):
    jobs = await job_service.list_jobs(session=session, status=status, queue=queue,
                                       before_id=page.after[1] if page.after else None,
                                       limit=page.limit + 1)
    items, cursor = page_of(jobs, page)
    return Page(items=items, next_cursor=cursor)


@router.get("/queues", response_model=QueueReport, summary="Per-queue depth, age, counts, timings")
async def queue_report(session: DbSession):
    return await job_service.report(session=session)


@router.delete("/dead", response_model=Purged, summary="Delete the dead letters")
async def purge_dead(session: DbSession, queue: Annotated[QueueName | None, Query()] = None):
    return Purged(deleted=await job_service.purge_dead(session=session, queue=queue))


@router.get("/{job_id:int}", response_model=JobDetail, summary="One job with its failed runs")
async def job_detail(job_id: RowId, session: DbSession):
    return await job_service.detail(session=session, job_id=job_id)


@router.post("/{job_id:int}/retry", response_model=Job, summary="Run a dead job again",
             responses=problem_responses(409))
async def retry_job(job_id: RowId, session: DbSession):
    return await job_service.retry(session=session, job_id=job_id)


@router.post("/{job_id:int}/cancel", response_model=Job,
             summary="Cancel a waiting or running job", responses=problem_responses(409))
async def cancel_job(job_id: RowId, session: DbSession):
    return await job_service.cancel(session=session, job_id=job_id)
