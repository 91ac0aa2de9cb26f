"""The flag admin API's and the client flag endpoint's bodies."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from lifeceo.platform.db.text import without_nul

FLAG_KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
FlagKey = Annotated[str, StringConstraints(pattern=FLAG_KEY_PATTERN)]
# The same shape as a user's groups (community/users/schemas.py).
Group = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
VariantName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Percentage = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]


Description = Annotated[str, Field(max_length=500), AfterValidator(without_nul)]


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: VariantName
    # Relative: weights 1 and 1 split half and half.
    weight: Annotated[int, Field(strict=True, ge=1, le=10_000)]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Description | None = None
    enabled: bool | None = None
    rollout_percentage: Percentage | None = None
    groups: Annotated[list[Group], Field(max_length=20)] | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    depends_on: Annotated[list[FlagKey], Field(max_length=10)] | None = None
    client_visible: bool | None = None
    variants: Annotated[list[Variant], Field(max_length=10)] | None = None

    @field_validator("variants")
    @classmethod
    def _distinct_variants(cls, variants: list[Variant] | None) -> list[Variant] | None:
        if variants is not None and len({variant.name for variant in variants}) != len(variants):
            raise ValueError("variant names must be distinct")
        if variants and {"on", "off"} & {variant.name for variant in variants}:
            raise ValueError("'on' and 'off' name the results of flags without variants")
        return variants

    @model_validator(mode="after")
    def _schedule_in_order(self) -> "_Fields":
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class FlagCreate(_Fields):
    key: FlagKey


class FlagUpdate(_Fields):
    """Only the fields given change; `version`, or If-Match, must name the version read."""

    version: Annotated[int, Field(strict=True, ge=1)] | None = None


class Flag(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    description: str
    enabled: bool
    killed: bool
    rollout_percentage: float
    groups: list[str]
    starts_at: datetime | None
    ends_at: datetime | None
    depends_on: list[str]
    client_visible: bool
    variants: list[Variant]
    version: int
    created_at: datetime
    updated_at: datetime


class KillSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # false clears the kill switch: the flag is evaluated by its definition again.
    killed: bool = True


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    flag_key: str
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed_at: datetime


class ClientFlag(BaseModel):
    enabled: bool
    variant: str
    reason: str


class ClientFlags(BaseModel):
    flags: dict[str, ClientFlag]
