"""Batch lookups: a query parameter naming many rows at once (`?ids=3,1,2`) and the list that
answers it."""

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import AfterValidator, BaseModel

T = TypeVar("T")
# The page size limit: a lookup answers at most what one page would.
MAX_LOOKUP_ITEMS = 100


class Items(BaseModel, Generic[T]):
    items: list[T]


def comma_separated(parse: Callable[[str], T], *, item: str, item_chars: int,
                    description: str):
    """A required query parameter of 1 to 100 comma-separated items, each matching the regular
    expression `item` (which the OpenAPI document states) and converted by `parse`; duplicates
    are dropped and the order is kept."""

    def items(raw: str) -> list[T]:
        return list(dict.fromkeys(parse(part.strip()) for part in raw.split(",")))

    # Bounded before matching, so that a huge parameter costs nothing.
    max_chars = MAX_LOOKUP_ITEMS * (item_chars + 2)
    # Spaces around the commas are forgiven.
    pattern = f"^ *{item}( *, *{item}){{0,{MAX_LOOKUP_ITEMS - 1}}} *$"
    return Annotated[str, Query(min_length=1, max_length=max_chars, description=description,
                                pattern=pattern),
                     AfterValidator(items)]


# 1 to 10^18 - 1: ids beyond (the bigint maximum is 9.2 * 10^18) are never reached.
ROW_ID = "[1-9][0-9]{0,17}"
RowIds = comma_separated(int, item=ROW_ID, item_chars=18,
                         description=f"up to {MAX_LOOKUP_ITEMS} comma-separated ids")
