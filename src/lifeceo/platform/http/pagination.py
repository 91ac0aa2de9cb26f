"""Keyset pagination on (created_at, id) with opaque cursors."""

import base64
import binascii
from datetime import datetime
from typing import Annotated, Generic, TypeVar

import orjson
from fastapi import Depends, Path, Query
from pydantic import BaseModel, BeforeValidator, Field

from lifeceo.errors import BadRequest
from lifeceo.platform.http.openapi import declares
from lifeceo.settings import get_settings

T = TypeVar("T")
# Ids are PostgreSQL bigints; a larger one in a cursor would fail in the database, not here.
# 2^63 - 1024 rather than 2^63 - 1: the largest below it that a JSON number (a double) holds
# exactly, so that the OpenAPI document's maximum is the one enforced.
MAX_ROW_ID = 2**63 - 1024
# In the OpenAPI document, so that a larger limit is a schema error (422), not a surprise.
MAX_PAGE_SIZE = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: int) -> str:
    raw = orjson.dumps([created_at.isoformat(), row_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = orjson.loads(raw)
        moment = datetime.fromisoformat(created_at)
        if (moment.tzinfo is None or not isinstance(row_id, int) or isinstance(row_id, bool)
                or not 0 <= row_id <= MAX_ROW_ID):
            raise ValueError(cursor)
        return moment, row_id
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise BadRequest("The cursor is not one this API issued.") from None


class PageParams(BaseModel):
    after: tuple[datetime, int] | None
    limit: int


# async: FastAPI runs a plain `def` dependency in a worker thread, a hop on every request.
@declares(400)
async def page_params(
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")] = None,
) -> PageParams:
    return PageParams(after=decode_cursor(cursor) if cursor else None,
                      limit=limit or get_settings().page_size_default)


Pagination = Annotated[PageParams, Depends(page_params)]
# A row id in a path, bounded so that an absurd id is a 422 rather than a failed bigint cast.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def json_integer(value: object) -> object:
    """JSON Schema's integer: 3 or 3.0, never "3" or true (which lax pydantic also takes)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    return value


# The same in a request body.
RowIdField = Annotated[int, Field(ge=1, le=MAX_ROW_ID), BeforeValidator(json_integer)]


def page_of(rows: list, params: PageParams, key=lambda row: (row.created_at, row.id)) -> tuple[list, str | None]:
    """Rows fetched with limit + 1: the extra row only tells that another page exists."""
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    return rows, encode_cursor(*key(rows[-1]))
