"""Field types shared by the request bodies of every noun."""

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from lifeceo.platform.db.text import without_nul

TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_TAGS = 10
# RFC 3339, as the document's `format: date-time` says; pydantic alone would also take a
# number of seconds, a date without a time, or no UTC offset.
RFC3339 = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                     r"([Zz]|[+-][0-9]{2}:[0-9]{2})$")


def rfc3339(value: object) -> object:
    if isinstance(value, datetime) or isinstance(value, str) and RFC3339.match(value):
        return value
    raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2025-06-01T20:00:00Z")


DateTime = Annotated[datetime, BeforeValidator(rfc3339)]


def _distinct(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


# What str.strip removes, spelled out for the OpenAPI document: JSON Schema's \s is another set.
STRIPPED = r"\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def Text(*, max_length: int, min_length: int = 0, strip: bool = False) -> type[str]:
    """A string that PostgreSQL can store (no NUL), of bounded length; the document's pattern
    says so, and that a stripped one must keep a character."""
    pattern = r"^[^\u0000]*$"
    if strip and min_length:
        pattern = rf"^[^\u0000]*[^\u0000{STRIPPED}][^\u0000]*$"
    return Annotated[str, StringConstraints(strip_whitespace=strip, min_length=min_length,
                                            max_length=max_length),
                     Field(json_schema_extra={"pattern": pattern}), AfterValidator(without_nul)]


def _normalised_tag(tag: str) -> str:
    tag = tag.strip().lower()
    if not TAG_PATTERN.fullmatch(tag):
        raise ValueError("a tag is 1-40 of a-z, 0-9, '_' and '-', starting with a letter or digit")
    return tag


# Any case, and spaces around, forgiven; as the pattern in the document says.
Tag = Annotated[str, Field(max_length=100, json_schema_extra={
    "pattern": f"^[{STRIPPED}]*[A-Za-z0-9][A-Za-z0-9_-]{{0,39}}[{STRIPPED}]*$"}),
    AfterValidator(_normalised_tag)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_distinct)]


def _null_only_where_allowed(schema: dict[str, Any], model: type["PartialUpdate"]) -> None:
    """The schema of a PATCH body, as its validator sees it: null where `nullable` says."""
    for name, field in schema.get("properties", {}).items():
        if name in model.nullable or "anyOf" not in field:
            continue
        kept = [option for option in field.pop("anyOf") if option != {"type": "null"}]
        field.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
        field.pop("default", None)


class PartialUpdate(BaseModel):
    """A PATCH body: omitted fields keep their value; null is a value only where `nullable` says."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_null_only_where_allowed)
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _null_only_where_allowed(self) -> "PartialUpdate":
        nulled = sorted(name for name in self.model_fields_set - self.nullable
                        if getattr(self, name) is None)
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null; omit a field to keep it")
        return self
