"""Prometheus counters of flag evaluations, exposed with everything else on /api/metrics."""

from prometheus_client import Counter

# Labels are bounded: flags are a table an administrator writes, variants a list per flag, and
# reasons the fixed set in evaluation.Reason.
EVALUATIONS = Counter("lifeceo_flag_evaluations", "Feature flag evaluations.",
                      ["flag", "variant", "reason"])
# A caller asked for a flag the store does not know (a typo, or a flag deleted too early): it got
# its own default. Keys are only counted when they look like keys, so that this stays bounded.
UNKNOWN = Counter("lifeceo_flag_unknown", "Evaluations of flags that do not exist.", ["flag"])
