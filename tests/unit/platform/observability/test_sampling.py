"""Where traces start: requests and jobs at the ratio, jobs of sampled requests always."""

from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision, ParentBased
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags

from lifeceo.platform.observability.tracing import RequestsAndJobs

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736


def _context(sampled: bool) -> SpanContext:
    return SpanContext(TRACE_ID, 0x00F067AA0BA902B7, is_remote=True,
                       trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else 0))


def _decision(ratio: float, kind: SpanKind, *, links=(), parent: SpanContext | None = None):
    sampler = ParentBased(root=RequestsAndJobs(ratio))
    parent_context = trace.set_span_in_context(trace.NonRecordingSpan(parent)) if parent else None
    return sampler.should_sample(parent_context, 0x1234, "span", kind, links=list(links)).decision


def test_new_traces_start_at_requests_and_jobs_at_the_ratio():
    assert _decision(1.0, SpanKind.SERVER) == Decision.RECORD_AND_SAMPLE
    assert _decision(1.0, SpanKind.CONSUMER) == Decision.RECORD_AND_SAMPLE
    assert _decision(0.0, SpanKind.SERVER) == Decision.DROP
    assert _decision(0.0, SpanKind.CONSUMER) == Decision.DROP


def test_a_job_linked_to_a_sampled_request_is_kept_whatever_the_ratio():
    assert _decision(0.0, SpanKind.CONSUMER, links=[Link(_context(True))]) == (
        Decision.RECORD_AND_SAMPLE)
    assert _decision(0.0, SpanKind.CONSUMER, links=[Link(_context(False))]) == Decision.DROP


def test_a_lone_client_call_starts_no_trace_but_a_caller_s_decision_is_kept():
    assert _decision(1.0, SpanKind.CLIENT) == Decision.DROP
    assert _decision(1.0, SpanKind.CLIENT, parent=_context(True)) == Decision.RECORD_AND_SAMPLE
    assert _decision(0.0, SpanKind.SERVER, parent=_context(True)) == Decision.RECORD_AND_SAMPLE
    assert _decision(1.0, SpanKind.SERVER, parent=_context(False)) == Decision.DROP
