"""Batch lookups: a query parameter naming many rows at once (`?ids=3,1,2`) and the list that
answers it."""

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import AfterValidator, BaseModel

from lifeceo.platform.http.pagination import MAX_ROW_ID

T = TypeVar("T")
# The page size limit: a lookup answers at most what one page would.
MAX_LOOKUP_ITEMS = 100


class Items(BaseModel, Generic[T]):
    items: list[T]


def comma_separated(parse: Callable[[str], T], *, item_chars: int, description: str):
    """A required query parameter of 1 to 100 comma-separated items, each checked by `parse`
    (which raises ValueError); duplicates are dropped and the order is kept."""

    def items(raw: str) -> list[T]:
        parts = raw.split(",")
        if len(parts) > MAX_LOOKUP_ITEMS:
            raise ValueError(f"at most {MAX_LOOKUP_ITEMS} items")
        return list(dict.fromkeys(parse(part.strip()) for part in parts))

    # Bounded before splitting, so that a huge parameter costs nothing.
    max_chars = MAX_LOOKUP_ITEMS * (item_chars + 2)
    return Annotated[str, Query(min_length=1, max_length=max_chars, description=description),
                     AfterValidator(items)]


def row_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ROW_ID:
        raise ValueError(f"ids are integers from 1 to {MAX_ROW_ID}, not {text[:20]!r}")
    return int(text)


RowIds = comma_separated(row_id, item_chars=len(str(MAX_ROW_ID)),
                         description=f"up to {MAX_LOOKUP_ITEMS} comma-separated ids")
