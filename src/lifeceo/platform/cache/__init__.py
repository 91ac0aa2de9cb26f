"""A two-tier cache: L1 per process, optional Redis L2, invalidation over Redis or PostgreSQL."""

from lifeceo.platform.cache.dependency import AppCache
from lifeceo.platform.cache.health import cache_check
from lifeceo.platform.cache.service import MISSING, Cache, not_composable
from lifeceo.platform.cache.stats import namespace_of

__all__ = ["MISSING", "AppCache", "Cache", "cache_check", "namespace_of", "not_composable"]
