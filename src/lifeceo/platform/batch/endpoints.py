"""POST /api/v1/batch: several API requests in one round trip."""

from fastapi import APIRouter, Request

from lifeceo.platform.batch.schemas import MAX_BATCH_REQUESTS, BatchRequest, BatchResponse
from lifeceo.platform.batch.service import batch_service

router = APIRouter(tags=["batch"])


@router.post("/batch", response_model=BatchResponse, description=f"""
Runs 1 to {MAX_BATCH_REQUESTS} requests to this API and returns their responses in order, each
with its own status, headers and body; the batch itself is 200 whatever they return.

- **Sequential**: a sub-request starts when the previous one has finished, so it sees the
  previous one's writes (register, then log in, then post).
- **Separate transactions**: each sub-request commits or rolls back on its own; a failed one
  does not undo the ones before it, nor stop the ones after it.
- **Each is a full request**: authentication, CSRF checks, rate limits and body limits apply to
  every sub-request. Authorization, Cookie, X-CSRF-Token and X-Forwarded-For are copied from the
  batch request unless a sub-request gives its own Authorization, Cookie or X-CSRF-Token.
- **Request ids**: sub-request *n* runs with X-Request-ID `<batch request id>-n`.
- **Paths** start with `/api/v1/`, may carry a query string, and may not contain `.` or `..`
  segments; a batch inside a batch is rejected (422) before anything runs.
""")
async def run_batch(body: BatchRequest, request: Request):
    # request.app is the whole application, middleware included, not just the router.
    responses = await batch_service.run(app=request.app, parent=request.scope,
                                        requests=body.requests)
    return BatchResponse(responses=responses)
