"""Request and response bodies of events and RSVPs."""

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from lifeceo.community.fields import PartialUpdate, Tags, Text, rfc3339
from lifeceo.platform.http.pagination import json_integer

RsvpStatus = Literal["going", "interested"]

# Outside this window a moment is a typo, and years before 1 AD in UTC cannot be read back into
# Python at all.
EARLIEST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(2200, 1, 1, tzinfo=UTC)
# Numeric(10, 2) holds up to 99,999,999.99; no ticket to a dance costs a million.
PRICE_MAX = Decimal(1000000)
# Larger than any festival hall; a bigger number is a typo, not an event.
CAPACITY_MAX = 100_000


def _within_window(moment: datetime) -> datetime:
    if not EARLIEST_MOMENT <= moment < LATEST_MOMENT:
        raise ValueError("must be between 1970 and 2200")
    return moment


# Files of the zone database that name no place: the server's own zone and placeholders.
NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # Reading the zone database walks the filesystem: once per process is enough.
    return frozenset(available_timezones()) - NOT_PLACES


def _iana_zone(name: str) -> str:
    if name not in _zone_names():
        raise ValueError("must be an IANA time zone name such as Europe/Paris")
    return name


Title = Text(strip=True, min_length=1, max_length=200)
Description = Text(max_length=10_000)
City = Text(strip=True, min_length=1, max_length=100)
Venue = Text(strip=True, max_length=200)
Moment = Annotated[AwareDatetime, BeforeValidator(rfc3339), AfterValidator(_within_window)]
Timezone = Annotated[str, Field(min_length=1, max_length=64,
                                json_schema_extra=lambda schema: schema.update(
                                    enum=sorted(_zone_names()))),
                     AfterValidator(_iana_zone)]
Price = Annotated[Decimal, Field(ge=0, le=PRICE_MAX, max_digits=10, decimal_places=2),
                  AfterValidator(lambda price: price.quantize(Decimal("0.01")))]
Capacity = Annotated[int, Field(ge=1, le=CAPACITY_MAX), BeforeValidator(json_integer)]


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    description: Description = ""
    city: City
    venue: Venue = ""
    starts_at: Moment
    ends_at: Moment
    timezone: Timezone
    tags: Tags = []
    price: Price = Decimal("0.00")
    capacity: Capacity | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> "EventCreate":
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class EventUpdate(PartialUpdate):
    """Only the fields sent change; the end-after-start rule is checked on the merged event."""

    nullable = frozenset({"capacity"})
    title: Title | None = None
    description: Description | None = None
    city: City | None = None
    venue: Venue | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    timezone: Timezone | None = None
    tags: Tags | None = None
    price: Price | None = None
    # null: remove the limit.
    capacity: Capacity | None = None


class RsvpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: RsvpStatus


class Organizer(BaseModel):
    username: str
    display_name: str


class EventFields(BaseModel):
    """What every viewer sees of an event, whoever asks."""

    id: int
    title: str
    description: str
    city: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    tags: list[str]
    # Serialized as a string ("12.50"): exact, unlike a JSON number.
    price: Decimal
    capacity: int | None
    going_count: int
    interested_count: int
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime | None


class EventOut(EventFields):
    organizer: Organizer
    # null: unlimited.
    spots_left: int | None
    # The viewer's own RSVP; null for anonymous viewers and for no RSVP.
    my_rsvp: RsvpStatus | None


class EventEntry(EventFields):
    """What is cached of an event: the same for every viewer."""

    model_config = ConfigDict(from_attributes=True)
    organizer_id: int


class EventFilters(BaseModel):
    city: str | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    tag: str | None = None
    include_past: bool = False
    include_cancelled: bool = False


class Attendee(BaseModel):
    username: str
    display_name: str
