"""The ten platform flags and their defaults here, written once at startup if missing.

Defaults differ from the original platform's (REFERENCE.md) where what is built here differs;
README.md gives each reason. Code that reads a flag passes the same default, so that a process
whose snapshot lacks the flag (a database emptied under it) behaves as a fresh install would."""

from decimal import Decimal

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.platform.flags import repository
from lifeceo.platform.flags.models import FeatureFlag

log = structlog.get_logger(__name__)

PERFORMANCE = "life-ceo-performance"
PREDICTIVE_CACHING = "predictive-caching"
SMART_RESOURCE_LOADING = "smart-resource-loading"
ADVANCED_MONITORING = "advanced-monitoring"
CDN_OPTIMIZATION = "cdn-optimization"
VIRTUAL_SCROLLING = "virtual-scrolling"
FULL_TEXT_SEARCH = "elasticsearch-search"
ASYNC_JOBS = "bullmq-jobs"
AB_TESTING = "a-b-testing"
WEBSOCKET_SCALING = "websocket-scaling"


def _flag(key: str, description: str, *, enabled: bool = True, client_visible: bool = False,
          **values) -> dict:
    return {"key": key, "description": description, "enabled": enabled,
            "client_visible": client_visible, "rollout_percentage": Decimal(100), **values}


PLATFORM_FLAGS: tuple[dict, ...] = (
    _flag(PERFORMANCE, "Internal: master switch of the application cache and compression."),
    _flag(PREDICTIVE_CACHING, "Internal: refresh hot cache keys before they expire."),
    _flag(SMART_RESOURCE_LOADING,
          "Internal: image variants, srcset and preload hints in post and media responses."),
    _flag(ADVANCED_MONITORING, "Internal: the metrics-history sampler."),
    _flag(CDN_OPTIMIZATION,
          "Internal: shared-cache Cache-Control and surrogate keys on public reads."),
    _flag(VIRTUAL_SCROLLING, "Long lists render only the rows in view (web UI).",
          client_visible=True),
    _flag(FULL_TEXT_SEARCH, "Internal: ranked full-text search; off, a simple name/title search."),
    _flag(ASYNC_JOBS, "Internal: jobs go to the durable queue; off, they run inline after the "
                      "request's commit."),
    _flag(AB_TESTING, "Experiments: variant assignment for the beta group, exposures recorded.",
          client_visible=True, groups=["beta"],
          variants=[{"name": "control", "weight": 50}, {"name": "treatment", "weight": 50}]),
    _flag(WEBSOCKET_SCALING, "Internal: live fan-out over Redis pub/sub (when Redis is "
                             "configured) rather than PostgreSQL NOTIFY."),
)
# What callers pass as their default: the seeded value for a caller with no targeting.
ON_BY_DEFAULT: dict[str, bool] = {flag["key"]: flag["enabled"] and not flag.get("groups")
                                  for flag in PLATFORM_FLAGS}


async def ensure_defaults(engine: AsyncEngine) -> list[str]:
    """Insert the platform flags that do not exist (never touching changed ones); the keys
    inserted. Safe for several processes at once."""
    inserted = []
    async with AsyncSession(engine, expire_on_commit=False) as session:
        for values in PLATFORM_FLAGS:
            flag: FeatureFlag | None = await repository.insert_flag(session, values)
            if flag is not None:
                inserted.append(flag.key)
                await repository.add_audit(session, key=flag.key, actor="system",
                                           action="create", before=None,
                                           after=repository.as_json(flag))
        await session.commit()
    if inserted:
        log.info("platform feature flags created", flags=inserted)
    return inserted
