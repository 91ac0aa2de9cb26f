"""Reading and editing raw ASGI header lists (lower-case byte names) without a Request object."""

from collections.abc import Iterable

RawHeaders = list[tuple[bytes, bytes]]


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of a header, or None; names are lower-case as ASGI delivers them."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def replaced(headers: Iterable[tuple[bytes, bytes]], name: bytes, value: str | None) -> RawHeaders:
    """A copy with every `name` header removed and, unless value is None, one set to value."""
    kept = [(key, val) for key, val in headers if key != name]
    if value is not None:
        kept.append((name, value.encode("latin-1")))
    return kept


def with_vary(headers: Iterable[tuple[bytes, bytes]], *fields: str) -> RawHeaders:
    """A copy whose single Vary header lists the existing fields plus `fields`, each once."""
    headers = list(headers)
    listed: list[str] = []
    for key, value in headers:
        if key == b"vary":
            items = value.decode("latin-1").split(",")
            listed.extend(item.strip() for item in items if item.strip())
    seen = {item.lower() for item in listed}
    if "*" in seen:
        return headers
    for field in fields:
        if field.lower() not in seen:
            listed.append(field)
            seen.add(field.lower())
    return replaced(headers, b"vary", ", ".join(listed) if listed else None)
