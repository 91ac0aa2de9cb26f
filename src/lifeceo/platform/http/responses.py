"""Responses an endpoint builds itself: for bodies that are already JSON-ready data."""

import orjson
from fastapi import Response


def json_response(content: object, status_code: int = 200) -> Response:
    """`content` (dicts, lists, strings, numbers) as JSON, without validating it against the
    route's response model again: for data made from that model, or cached after it was."""
    return Response(orjson.dumps(content), status_code=status_code,
                    media_type="application/json")
