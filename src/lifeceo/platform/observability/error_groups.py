"""Error groups: an exception's type and the place it was raised, the way Sentry groups events
by type and in-app frame rather than by message (a message carries ids and values). Every log
line with an exception gets `error_type` and `error_location`, so that the shipped records of
every process can be counted per group, and the monitor sees a new or surging one."""

import hashlib
import sys
import sysconfig
from types import TracebackType
from typing import Any

PACKAGE = "lifeceo"
LIBRARY_PATHS = tuple(dict.fromkeys(
    sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")))
# The monitor's incidents keep a label of this many characters (history_series.LABEL_CHARS).
MAX_LABEL_CHARS = 64


def _in_app(filename: str) -> bool:
    """Sentry's in-app rule: a frame that is neither the standard library nor an installed
    package (an editable install of ours lives outside both), nor generated code (`<string>`,
    frozen modules)."""
    return not filename.startswith(LIBRARY_PATHS) and not filename.startswith("<")


def raised_at(traceback: TracebackType | None) -> str:
    """The innermost in-app frame (else the innermost of all), as module:function, `lifeceo.`
    left out;
    no line number, which every unrelated edit of the file above it would change."""
    innermost = own = None
    while traceback is not None:
        frame = traceback.tb_frame
        module = frame.f_globals.get("__name__", "?")
        innermost = f"{module.removeprefix(f'{PACKAGE}.')}:{frame.f_code.co_qualname}"
        if _in_app(frame.f_code.co_filename):
            own = innermost
        traceback = traceback.tb_next
    return own or innermost or "?"


def _exception(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1]
    if exc_info is True:
        return sys.exc_info()[1]
    return None


def add_error_group(_logger: object, _method: str, event_dict: dict) -> dict:
    """structlog processor: the group of the line's exception, if it has one."""
    exc = _exception(event_dict.get("exc_info"))
    if exc is not None:
        kind = type(exc)
        event_dict["error_type"] = f"{kind.__module__}.{kind.__qualname__}"
        event_dict["error_location"] = raised_at(exc.__traceback__)
    return event_dict


def label(error_type: str, location: str) -> str:
    """`InjectedFault@platform.chaos.requests:ChaosMiddleware.__call__`, bounded: a longer one
    keeps its type and a digest of the whole."""
    name = error_type.rpartition(".")[2]
    whole = f"{name}@{location}"
    if len(whole) <= MAX_LABEL_CHARS:
        return whole
    digest = hashlib.sha1(whole.encode(), usedforsecurity=False).hexdigest()[:12]
    return f"{name[:MAX_LABEL_CHARS - len(digest) - 1]}@{digest}"
