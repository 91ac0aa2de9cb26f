"""HTTP caching: ETags and 304s, compression, Cache-Control/Vary per route, surrogate keys and
purging Varnish on writes (deploy/varnish/default.vcl is the matching Varnish configuration)."""

from lifeceo.platform.httpcache.compression import CompressionMiddleware
from lifeceo.platform.httpcache.etag import ETagMiddleware
from lifeceo.platform.httpcache.invalidation import PurgeOnWriteMiddleware
from lifeceo.platform.httpcache.policy import CachePolicy, CachePolicyMiddleware
from lifeceo.platform.httpcache.surrogate import VarnishPurger, add_surrogate_keys, purger_for

__all__ = [
    "CachePolicy",
    "CachePolicyMiddleware",
    "CompressionMiddleware",
    "ETagMiddleware",
    "PurgeOnWriteMiddleware",
    "VarnishPurger",
    "add_surrogate_keys",
    "purger_for",
]
