"""Scrubbing of what leaves the process for people to read (error reports, the recent-logs API):
no email, password, token or cookie value, whether under a telling key or inside text."""

import re
from typing import Any

FILTERED = "[Filtered]"
# A key made of these words (`user_email`, `x-csrf-token`, `lifeceo_session`) has its value
# dropped wherever it appears: request data, frame locals, log fields.
SENSITIVE_WORDS = frozenset({
    "password", "passwd", "secret", "token", "cookie", "cookies", "authorization", "session",
    "csrf", "email", "credentials", "apikey", "dsn"})
KEY_WORDS = re.compile(r"[^a-z0-9]+")
# The same inside text: exception messages and the reprs of locals (`password='…'`, headers).
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ASSIGNED_SECRET = re.compile(
    r"(?i)(\w*(?:password|passwd|secret|token|cookie|authorization|session|csrf|apikey)\w*"
    r"['\"]?\s*[:=]\s*[b]?['\"]?)(?!\[Filtered\])([^\s'\",;&)\]}]+)")
BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


def scrub(value: Any, key: str | None = None) -> Any:
    """`value` with sensitive keys' values and sensitive text replaced, however deep."""
    if key is not None and _sensitive(key):
        return FILTERED
    if isinstance(value, dict):
        return {k: scrub(v, k if isinstance(k, str) else None) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return _scrub_text(value)
    return value


def _sensitive(key: str) -> bool:
    return not SENSITIVE_WORDS.isdisjoint(KEY_WORDS.split(key.lower()))


def _scrub_text(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = BEARER.sub(lambda match: f"{match.group(1)} {FILTERED}", text)
    return ASSIGNED_SECRET.sub(lambda match: match.group(1) + FILTERED, text)
