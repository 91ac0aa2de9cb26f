"""The fault-injection scorecard of `lifeceo monitor eval`, as JSON and Markdown: per fault what
the monitor saw and did, the clean period's false positives, recall and time to detect."""

import json
import os
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Sighting:
    """An incident opened (or reopened) by `detector`, `seconds` after the period began."""

    incident_id: int
    detector: str
    label: str
    seconds: float


@dataclass
class FaultScore:
    kind: str
    magnitude: float
    target: str
    seconds: float
    expected: list[str]
    sightings: list[Sighting] = field(default_factory=list)
    # "name: outcome" of each remediation action proposed for the fault's incidents.
    actions: list[str] = field(default_factory=list)
    # From injection to the first of its incidents marked mitigated by an action.
    seconds_to_mitigate: float | None = None
    # Every incident of the fault resolved (its detector quiet) within the recovery wait; None
    # when the fault opened none.
    incidents_resolved: bool | None = None
    undo_needed: bool = False
    # Incidents still unresolved when the fault was injected (a recovery wait that ran out).
    carried_over: list[int] = field(default_factory=list)

    @property
    def detected_by(self) -> list[str]:
        return sorted({sighting.detector for sighting in self.sightings})

    @property
    def detected(self) -> bool:
        """By an expected detector; a kind without one is never detected."""
        return bool(set(self.expected) & set(self.detected_by))

    @property
    def seconds_to_detect(self) -> float | None:
        times = [s.seconds for s in self.sightings if s.detector in self.expected]
        return min(times) if times else None


@dataclass
class Scorecard:
    settings: dict[str, object]
    clean_seconds: float
    false_positives: list[Sighting] = field(default_factory=list)
    faults: list[FaultScore] = field(default_factory=list)
    # The background load over the whole run, from wrk.
    load: dict[str, float] = field(default_factory=dict)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def recall(self) -> float | None:
        """Detected by the expected detector, over the kinds that have one."""
        watched = [fault for fault in self.faults if fault.expected]
        return sum(fault.detected for fault in watched) / len(watched) if watched else None

    def median_seconds_to_detect(self) -> float | None:
        times = [f.seconds_to_detect for f in self.faults if f.seconds_to_detect is not None]
        return round(statistics.median(times), 1) if times else None

    def summary(self) -> dict[str, object]:
        recall = self.recall()
        return {
            "kinds": len(self.faults),
            "detected": sum(fault.detected for fault in self.faults),
            "without_detector": [fault.kind for fault in self.faults if not fault.expected],
            "recall_over_watched_kinds": None if recall is None else round(recall, 3),
            "median_seconds_to_detect": self.median_seconds_to_detect(),
            "false_positives": len(self.false_positives),
            "mitigated_by_action": sum(f.seconds_to_mitigate is not None for f in self.faults),
        }

    def as_json(self) -> dict[str, object]:
        return {
            "started_at": self.started_at, "cpus": len(os.sched_getaffinity(0)),
            "settings": self.settings, "clean_seconds": self.clean_seconds,
            "summary": self.summary(), "load": self.load,
            "false_positives": [asdict(sighting) for sighting in self.false_positives],
            "faults": [{**asdict(fault), "detected": fault.detected,
                        "detected_by": fault.detected_by,
                        "seconds_to_detect": fault.seconds_to_detect} for fault in self.faults],
        }

    def as_markdown(self) -> str:
        summary = self.summary()
        recall = summary["recall_over_watched_kinds"]
        median = summary["median_seconds_to_detect"]
        lines = [
            f"# lifeceo monitor eval, {self.started_at}", "",
            "settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()), "",
            (f"**Summary**: {summary['detected']} of {summary['kinds']} fault kinds detected by "
             f"the expected detector; recall over the kinds that have one "
             f"{'-' if recall is None else f'{recall:.0%}'}; median time to detect "
             f"{'-' if median is None else f'{median:g} s'}; "
             f"{summary['false_positives']} false positives in {self.clean_seconds:g} s clean; "
             f"{summary['mitigated_by_action']} mitigated by an action. No detector: "
             f"{', '.join(summary['without_detector']) or 'none'}."), "",
            ("| fault | magnitude | expected | detected by | detected | time to detect | "
             "actions | time to mitigate | resolved | undo |"),
            "|---|---:|---|---|---|---:|---|---:|---|---|",
        ]
        for f in self.faults:
            lines.append(
                f"| {f.kind} ({f.target}) | {f.magnitude:g} | "
                f"{', '.join(f.expected) or 'no detector'} | {', '.join(f.detected_by) or '-'} | "
                f"{'yes' if f.detected else 'no'} | {_seconds(f.seconds_to_detect)} | "
                f"{', '.join(f.actions) or '-'} | {_seconds(f.seconds_to_mitigate)} | "
                f"{_yes(f.incidents_resolved)} | {'yes' if f.undo_needed else 'no'} |")
        lines += ["", "False positives in the clean period: " + (", ".join(
            f"#{s.incident_id} {s.detector}:{s.label} at {s.seconds:.0f} s"
            for s in self.false_positives) or "none"), ""]
        carried = [f"{f.kind} (#{', #'.join(map(str, f.carried_over))})"
                   for f in self.faults if f.carried_over]
        if carried:
            lines += ["Incidents still unresolved at injection: " + "; ".join(carried), ""]
        if self.load:
            lines += [", ".join(f"{k} {v:g}" for k, v in self.load.items())
                      .join(("Background load: ", ".")), ""]
        return "\n".join(lines)

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        stem = directory / f"monitor-eval-{self.started_at.replace(':', '')}"
        stem.with_suffix(".json").write_text(json.dumps(self.as_json(), indent=2) + "\n")
        markdown = stem.with_suffix(".md")
        markdown.write_text(self.as_markdown())
        return markdown


def _yes(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"
