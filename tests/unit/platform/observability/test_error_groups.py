"""Error groups: an exception's type and our innermost frame, whatever its message says."""

from lifeceo.platform.observability.error_groups import (
    MAX_LABEL_CHARS,
    add_error_group,
    label,
    raised_at,
)


class GatewayMismatch(RuntimeError):
    pass


def charge(amount: int) -> None:
    raise GatewayMismatch(f"charge() got an unexpected keyword argument for {amount}")


def caught(amount: int) -> BaseException:
    try:
        charge(amount)
    except GatewayMismatch as exc:
        return exc
    raise AssertionError("charge raised nothing")


def test_the_group_is_the_type_and_the_innermost_frame_not_the_message():
    first, second = caught(1), caught(2)
    assert str(first) != str(second)
    groups = [add_error_group(None, "error", {"exc_info": exc}) for exc in (first, second)]
    assert groups[0]["error_type"] == groups[1]["error_type"] == f"{__name__}.GatewayMismatch"
    assert groups[0]["error_location"] == groups[1]["error_location"] == f"{__name__}:charge"
    assert raised_at(first.__traceback__) == f"{__name__}:charge"


def test_a_line_without_an_exception_has_no_group_and_the_current_one_is_found():
    assert "error_type" not in add_error_group(None, "warning", {"event": "slow"})
    try:
        charge(3)
    except GatewayMismatch:
        found = add_error_group(None, "error", {"exc_info": True})
    assert found["error_location"].endswith(":charge")


def test_labels_fit_the_incident_column_and_keep_the_type():
    short = label("lifeceo.x.GatewayMismatch", "platform.chaos:f")
    assert short == "GatewayMismatch@platform.chaos:f"
    long = label("lifeceo.x.GatewayMismatch", "community." + "deep." * 20 + "service:f")
    assert len(long) <= MAX_LABEL_CHARS and long.startswith("GatewayMismatch@")
