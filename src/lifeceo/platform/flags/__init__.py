"""Feature flags: definitions in PostgreSQL, evaluated from a per-process snapshot that every
change reaches within a second, with sticky percentage rollouts, groups, schedules,
dependencies, A/B variants, a kill switch, an audit log and an OpenFeature provider.

Code that has no application at hand asks `current()`: `current().is_enabled(key, default)`."""

from lifeceo.platform.flags.evaluation import Evaluation, FlagDefinition, Reason, bucket
from lifeceo.platform.flags.store import FlagStore, current, install, uninstall

__all__ = ["Evaluation", "FlagDefinition", "FlagStore", "Reason", "bucket", "current", "install",
           "uninstall"]
