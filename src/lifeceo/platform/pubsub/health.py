"""Readiness of the live hub: a process deaf to its listener pushes nothing until it reconnects
(clients then catch up), so that is `warn`, never `fail`."""

from lifeceo.platform.health.checks import Check, CheckFunction
from lifeceo.platform.pubsub.hub import LiveHub


def live_check(hub: LiveHub) -> CheckFunction:
    async def check() -> list[Check]:
        listener = (Check("live", "listener", "component", "pass", hub.backend) if hub.listening
                    else Check("live", "listener", "component", "warn", hub.backend,
                               output=f"not listening on {hub.backend}; reconnecting"))
        return [listener, Check("live", "subscribers", "component", "pass", hub.subscribers)]

    return check
