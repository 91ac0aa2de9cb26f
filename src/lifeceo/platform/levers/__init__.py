"""Runtime levers for remediation: each reaches every process through the live hub, reports its
state and expires by itself."""

from lifeceo.platform.levers.board import Lever, LeverBoard, Setting
from lifeceo.platform.levers.breaker import BreakerHold
from lifeceo.platform.levers.client_limit import ClientLimit
from lifeceo.platform.levers.concurrency import AdaptiveConcurrency, AdaptiveConcurrencyMiddleware
from lifeceo.platform.levers.queues import QueueConcurrency
from lifeceo.platform.levers.recycle import RecycleRequests, WorkerRecycle
from lifeceo.platform.levers.stale import StaleReads, StaleReadsMiddleware
from lifeceo.platform.levers.warm import CacheWarm

__all__ = ["AdaptiveConcurrency", "AdaptiveConcurrencyMiddleware", "BreakerHold", "CacheWarm",
           "ClientLimit",
           "Lever", "LeverBoard", "QueueConcurrency", "RecycleRequests", "Setting",
           "StaleReads", "StaleReadsMiddleware", "WorkerRecycle"]
