"""An OpenFeature provider over the process's flag store, so that code written against the
OpenFeature API (`client.get_boolean_value("predictive-caching", False, context)`) reads our
flags: the context's targeting key and its `groups` attribute are the caller."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails
from openfeature.flag_evaluation import Reason as OpenFeatureReason
from openfeature.provider import AbstractProvider, Metadata

from lifeceo.platform.flags.evaluation import Evaluation, Reason
from lifeceo.platform.flags.store import FlagStore, current

# Ours are finer; OpenFeature's say whether a rule, a split or the switch decided.
REASONS: dict[Reason, OpenFeatureReason] = {
    Reason.STATIC: OpenFeatureReason.STATIC,
    Reason.TARGETING_MATCH: OpenFeatureReason.TARGETING_MATCH,
    Reason.SPLIT: OpenFeatureReason.SPLIT,
    Reason.KILLED: OpenFeatureReason.DISABLED,
    Reason.DISABLED: OpenFeatureReason.DISABLED,
    # Off by a rule: outside the schedule, the groups, or a dependency.
    Reason.SCHEDULE: OpenFeatureReason.TARGETING_MATCH,
    Reason.GROUP: OpenFeatureReason.TARGETING_MATCH,
    Reason.DEPENDENCY: OpenFeatureReason.TARGETING_MATCH,
    Reason.ERROR: OpenFeatureReason.ERROR,
}


class LifeceoProvider(AbstractProvider):
    """Boolean flags resolve to on/off, string flags to the variant; numbers and objects are a
    TYPE_MISMATCH (our flags carry none)."""

    def __init__(self, store: Callable[[], FlagStore] = current) -> None:
        super().__init__()
        # A callable: the store a process installs at startup replaces the empty one.
        self._store = store

    def get_metadata(self) -> Metadata:
        return Metadata(name="lifeceo")

    def resolve_boolean_details(self, flag_key: str, default_value: bool,
                                evaluation_context: EvaluationContext | None = None
                                ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context,
                             lambda result: result.enabled)

    def resolve_string_details(self, flag_key: str, default_value: str,
                               evaluation_context: EvaluationContext | None = None
                               ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context,
                             lambda result: result.variant)

    def resolve_integer_details(self, flag_key: str, default_value: int,
                                evaluation_context: EvaluationContext | None = None
                                ) -> FlagResolutionDetails[int]:
        return _mismatch(default_value, "integer")

    def resolve_float_details(self, flag_key: str, default_value: float,
                              evaluation_context: EvaluationContext | None = None
                              ) -> FlagResolutionDetails[float]:
        return _mismatch(default_value, "float")

    def resolve_object_details(self, flag_key: str, default_value: Sequence | Mapping,
                               evaluation_context: EvaluationContext | None = None
                               ) -> FlagResolutionDetails[Sequence | Mapping]:
        return _mismatch(default_value, "object")

    def _resolve(self, flag_key: str, default_value: Any, context: EvaluationContext | None,
                 value: Callable[[Evaluation], Any]) -> FlagResolutionDetails:
        targeting_key, groups = _caller(context)
        store = self._store()
        result = store.evaluate(flag_key, targeting_key=targeting_key, groups=groups)
        if result is None:
            return FlagResolutionDetails(
                value=default_value, reason=OpenFeatureReason.ERROR,
                error_code=ErrorCode.FLAG_NOT_FOUND, error_message=f"no flag {flag_key!r}")
        definition = store.definition(flag_key)
        metadata = {**(definition.metadata if definition else {}),
                    "lifeceo_reason": result.reason.value}
        details = FlagResolutionDetails(value=value(result), reason=REASONS[result.reason],
                                        variant=result.variant, flag_metadata=metadata)
        if result.reason is Reason.ERROR:
            details.error_code = ErrorCode.GENERAL
            details.error_message = "dependency cycle"
            details.value = default_value
        return details


def _caller(context: EvaluationContext | None) -> tuple[str | None, frozenset[str]]:
    if context is None:
        return None, frozenset()
    groups = context.attributes.get("groups") or ()
    if isinstance(groups, str):
        groups = (groups,)
    elif not isinstance(groups, list | tuple | set | frozenset):
        groups = ()  # a malformed attribute is no group, not an error
    return context.targeting_key, frozenset(str(group) for group in groups)


def _mismatch(default_value: Any, kind: str) -> FlagResolutionDetails:
    return FlagResolutionDetails(value=default_value, reason=OpenFeatureReason.ERROR,
                                 error_code=ErrorCode.TYPE_MISMATCH,
                                 error_message=f"lifeceo flags are boolean, with string "
                                               f"variants; not {kind}")
