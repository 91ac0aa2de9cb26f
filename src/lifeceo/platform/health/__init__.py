"""Health checks in the IETF health-check format (draft-inadarei-api-health-check)."""

from lifeceo.platform.health.checks import Check, HealthRegistry

__all__ = ["Check", "HealthRegistry"]
