"""The text Prometheus reads: every metric registered with prometheus_client (ours, the flags',
anyone's), summed over the processes when they share a directory, plus the scrape-time ones."""

from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from lifeceo.platform.observability.metrics_multiprocess import directory


class _Registered(Collector):
    """This process's default registry (single-process mode: nothing to sum)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def render(extra: Iterable[Collector]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    path = directory()
    if path is not None:
        # Reads every process's files: dead workers' counters included.
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry.register(_Registered())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)
