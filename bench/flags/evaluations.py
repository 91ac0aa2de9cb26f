"""In-process flag evaluation rate: `python bench/flags/evaluations.py [--rounds N]`.

Evaluates the kinds of flag the platform has (on for everyone, a percentage rollout, a group
flag, an A/B experiment) for 1,000 callers asked again and again, and a rollout for callers
never seen before (every evaluation hashes). Prints the best of N rounds per kind: the machine
is shared, and the best round is the one the fewest other processes slowed down."""

import argparse
import time
from decimal import Decimal

from lifeceo.platform.flags import FlagDefinition, FlagStore

CALLERS = 1_000
REPEATS = 100
NEW_CALLERS = 100_000


def rate(work, count: int) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    store = FlagStore()
    store.replace([
        FlagDefinition("static-on", enabled=True),
        FlagDefinition("rollout-80", enabled=True, rollout_percentage=Decimal(80)),
        FlagDefinition("beta-group", enabled=True, groups=("beta",)),
        FlagDefinition("experiment", enabled=True, groups=("beta",),
                       variants=(("control", 50), ("treatment", 50))),
    ])
    callers = [f"user:{number}" for number in range(CALLERS)]
    beta = frozenset({"beta"})
    best: dict[str, float] = {}

    def repeated(key: str):
        def work() -> None:
            for _ in range(REPEATS):
                for caller in callers:
                    store.evaluate(key, targeting_key=caller, groups=beta)
        return work

    for round_number in range(rounds):
        for key in ("static-on", "rollout-80", "beta-group", "experiment"):
            best[key] = max(best.get(key, 0.0), rate(repeated(key), CALLERS * REPEATS))
        fresh = [f"visitor:{round_number}:{number}" for number in range(NEW_CALLERS)]

        def new_callers(fresh: list[str] = fresh) -> None:
            for caller in fresh:
                store.evaluate("rollout-80", targeting_key=caller)

        best["rollout-80, new callers"] = max(best.get("rollout-80, new callers", 0.0),
                                              rate(new_callers, NEW_CALLERS))
    store.publish_counts()
    for kind, value in best.items():
        print(f"{kind:<26} {value:>12,.0f} evaluations/s")


if __name__ == "__main__":
    main()
