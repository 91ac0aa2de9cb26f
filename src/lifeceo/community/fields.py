"""Field types shared by the request bodies of every noun."""

import re
from typing import Annotated, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from lifeceo.platform.db.text import without_nul

TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_TAGS = 10


def _normalised_tag(tag: str) -> str:
    tag = tag.strip().lower()
    if not TAG_PATTERN.fullmatch(tag):
        raise ValueError("a tag is 1-40 of a-z, 0-9, '_' and '-', starting with a letter or digit")
    return tag


def _distinct(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def Text(*, max_length: int, min_length: int = 0, strip: bool = False) -> type[str]:
    """A string that PostgreSQL can store, of bounded length."""
    return Annotated[str, StringConstraints(strip_whitespace=strip, min_length=min_length,
                                            max_length=max_length), AfterValidator(without_nul)]


Tag = Annotated[str, Field(max_length=100), AfterValidator(_normalised_tag)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_distinct)]


class PartialUpdate(BaseModel):
    """A PATCH body: omitted fields keep their value; null is a value only where `nullable` says."""

    model_config = ConfigDict(extra="forbid")
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _null_only_where_allowed(self) -> "PartialUpdate":
        nulled = sorted(name for name in self.model_fields_set - self.nullable
                        if getattr(self, name) is None)
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null; omit a field to keep it")
        return self
