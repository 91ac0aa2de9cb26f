"""GET /api/metrics: the Prometheus text format, for a token holder or an allowed network."""

import functools
import ipaddress
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4
from starlette.concurrency import run_in_threadpool

from lifeceo.errors import Forbidden, LifeceoError
from lifeceo.platform.observability.metrics_collectors import BuildInfoCollector, QueueCollector
from lifeceo.platform.observability.metrics_exposition import render
from lifeceo.settings import Settings

router = APIRouter(tags=["metrics"])
_build_info = BuildInfoCollector()
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def allowed_networks(spec: str) -> tuple[Network, ...]:
    """`127.0.0.0/8,::1/128` -> networks; a typo is a startup error, not an open endpoint."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False)
                     for part in spec.split(",") if part.strip())
    except ValueError as exc:
        raise LifeceoError(f"LIFECEO_METRICS_ALLOW_NETWORKS: {exc}") from None


def may_scrape(settings: Settings, *, authorization: str | None, client_host: str | None) -> bool:
    token = settings.metrics_token
    if token is not None and authorization:
        scheme, _, offered = authorization.partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(
                offered.strip().encode(), token.get_secret_value().encode()):
            return True
    try:
        address = ipaddress.ip_address(client_host or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in allowed_networks(settings.metrics_allow_networks))


# Left out of the OpenAPI document: it is Prometheus's, not an API client's.
@router.get("/api/metrics", summary="Prometheus metrics (token or allowed network)",
            response_class=Response, include_in_schema=False)
async def metrics_text(request: Request) -> Response:
    state = request.app.state
    if not may_scrape(state.settings, authorization=request.headers.get("authorization"),
                      client_host=request.client.host if request.client else None):
        raise Forbidden("Metrics are for a bearer of LIFECEO_METRICS_TOKEN or an address in "
                        "LIFECEO_METRICS_ALLOW_NETWORKS.")
    # This process's own figures as of now; the other workers published theirs on their timer.
    state.process_metrics.sample()
    figures = await state.queue_snapshot.refresh()
    # Reading every worker's files is blocking I/O: off the event loop.
    body = await run_in_threadpool(render, [QueueCollector(figures), _build_info])
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4,
                    headers={"cache-control": "no-store"})
