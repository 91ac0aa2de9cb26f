"""Keys, tags and TTLs are chosen by code, not users: a bad one is a bug, raised at once."""

from collections.abc import Iterable

MAX_KEY_LENGTH = 512
MAX_TAG_LENGTH = 200
# Tags of one entry; an invalidation may name any number of tags (they are chunked).
MAX_TAGS_PER_ENTRY = 64
MAX_TTL_SECONDS = 30 * 24 * 3600


def _checked_name(name: object, kind: str, max_length: int) -> str:
    if not isinstance(name, str) or not name or len(name) > max_length:
        raise ValueError(f"a cache {kind} is a non-empty string of at most {max_length} "
                         f"characters, not {name!r:.80}")
    return name


def _checked_list(names: Iterable[str], kind: str, max_length: int) -> tuple[str, ...]:
    if isinstance(names, str):
        # "user:42" would otherwise be read as the tags "u", "s", "e", ...
        raise TypeError(f"cache {kind}s are a list of strings, not the string {names!r:.80}")
    return tuple(dict.fromkeys(_checked_name(name, kind, max_length) for name in names))


def checked_entry(key: str, *, ttl: float | None = None, tags: Iterable[str] = ()) -> tuple[str, ...]:
    """Validate a key (and TTL and tags when storing); return the tags, deduplicated."""
    _checked_name(key, "key", MAX_KEY_LENGTH)
    if ttl is not None and not 0 < ttl <= MAX_TTL_SECONDS:
        raise ValueError(f"a cache TTL is between 0 and {MAX_TTL_SECONDS} seconds, not {ttl!r}")
    checked = _checked_list(tags, "tag", MAX_TAG_LENGTH)
    if len(checked) > MAX_TAGS_PER_ENTRY:
        raise ValueError(f"at most {MAX_TAGS_PER_ENTRY} tags per cache entry")
    return checked


def checked_names(*, tags: Iterable[str], keys: Iterable[str]) -> tuple[tuple[str, ...],
                                                                          tuple[str, ...]]:
    return (_checked_list(tags, "tag", MAX_TAG_LENGTH),
            _checked_list(keys, "key", MAX_KEY_LENGTH))
