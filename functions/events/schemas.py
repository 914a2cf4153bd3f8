"""Polar's event shapes (polar.v2026_10: EventCreateCustomer, EventCreateExternalCustomer, EventsIngest)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    with_config,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from typing_extensions import TypedDict

from functions.common.clock import iso, utcnow
from functions.common.metadata import (  # noqa: F401 (the metadata rules, also imported from here)
    METERED_DECIMAL_PLACES,
    METERED_INTEGER_DIGITS,
    METERED_LIMIT,
    METERED_RULE,
    MetadataValue,
    check_metadata,
    metered_number,
    storable_number,
)
from functions.common.request_types import Metadata, RequestModel  # noqa: F401 (Metadata: also imported from here)
from functions.common.schemas import lazy_models

MAX_AGE = timedelta(days=35)
MAX_AHEAD = timedelta(minutes=5)
MAX_EVENTS_PER_REQUEST = 1000




# A dict, not a model: pydantic checks the fields' types in its core and builds nothing per event (a model per
# event cost the ingest about 1 us an event of its 20, measured). The rules the types do not state (exactly one
# customer, the timestamp's form and window, the metadata limits) are `event_errors`, checked over a whole request
# at once (EventsIngest) or for one event (`checked_event`); they leave the timestamp in canonical form
# (functions/common/clock.iso), which is what the ingest reads.
@with_config(ConfigDict(extra="forbid"))
class EventCreate(TypedDict):
    """One event, by `customer_id` or `external_customer_id` (exactly one). A field it does not have is a 422
    naming it (a misspelt `metdata` would otherwise drop the metadata a meter sums); so are Polar's `parent_id`
    (Meterbill's events have no hierarchy), `member_id` and `external_member_id` (members are not served), which
    may only be null. `timestamp`: ISO 8601 with a time zone, at most 35 days old and 5 minutes ahead (the
    time of ingestion without one)."""

    name: Annotated[str, Field(min_length=1, max_length=128)]
    timestamp: NotRequired[Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})] | None]
    customer_id: NotRequired[Annotated[str, Field(min_length=1, max_length=100)] | None]
    external_customer_id: NotRequired[Annotated[str, Field(min_length=1, max_length=256)] | None]
    external_id: NotRequired[Annotated[str, Field(min_length=1, max_length=256)] | None]
    organization_id: NotRequired[str | None]
    parent_id: NotRequired[None]
    member_id: NotRequired[None]
    external_member_id: NotRequired[None]
    metadata: NotRequired[dict[str, Any]]


_parse = datetime.fromisoformat


def _canonical(text: str) -> bool:
    """Whether a timestamp `fromisoformat` read is in the form `iso` writes (2026-11-24T12:00:00.000000Z): such an
    event keeps its string (formatting a time again costs about 1.5 us, this 0.1). Of the forms it reads, only
    that one is 27 characters with these separators (a week date has no "-" at 7)."""
    return len(text) == 27 and text[26] == "Z" and text[19] == "." and text[10] == "T" and text[7] == "-"


def event_errors(event: EventCreate, oldest: datetime, newest: datetime, window: tuple[str, str]
                 ) -> list[tuple[str, str, Any]] | None:
    """(field, message, value) of each rule the event breaks, None if none; its timestamp must be in [oldest,
    newest] (`timestamp_window`; `window` is the same in canonical form). A valid timestamp is left in canonical
    form."""
    errors: list[tuple[str, str, Any]] = []
    if (event.get("customer_id") is None) == (event.get("external_customer_id") is None):
        errors.append(("external_customer_id", "give exactly one of customer_id or external_customer_id",
                       event.get("external_customer_id")))
    text = event.get("timestamp")
    if text is not None:
        try:
            moment = _parse(text)
        except ValueError:
            moment = None
        if moment is None:
            errors.append(("timestamp", "timestamp must be an ISO 8601 date and time", text))
        elif _canonical(text):
            if not window[0] <= text <= window[1]:
                errors.append(("timestamp", _outside(moment, oldest), text))
        elif moment.tzinfo is None:
            errors.append(("timestamp", "timestamp must be timezone-aware", text))
        elif not oldest <= moment <= newest:
            errors.append(("timestamp", _outside(moment, oldest), text))
        else:
            event["timestamp"] = iso(moment)
    metadata = event.get("metadata")
    if metadata:
        try:
            check_metadata(metadata)
        except ValueError as exc:
            errors.append(("metadata", str(exc), metadata))
    return errors or None


def _outside(moment: datetime, oldest: datetime) -> str:
    return ("timestamp is more than 35 days in the past" if moment < oldest
            else "timestamp is more than 5 minutes in the future")


def timestamp_window() -> tuple[datetime, datetime, tuple[str, str]]:
    now = utcnow()
    oldest, newest = now - MAX_AGE, now + MAX_AHEAD
    return oldest, newest, (iso(oldest), iso(newest))


def _refused(title: str, errors: Sequence[tuple[tuple[int | str, ...], str, Any]]) -> ValidationError:
    """The errors as pydantic reports a validator's ValueError (type value_error, "Value error, ...")."""
    return ValidationError.from_exception_data(title, [
        InitErrorDetails(type=PydanticCustomError("value_error", "Value error, {error}", {"error": message}),
                         loc=loc, input=value)
        for loc, message, value in errors])


_EVENT = TypeAdapter(EventCreate)


def checked_event(data: Any) -> EventCreate:
    """One event validated with its rules (a bulk file's line). Raises pydantic's ValidationError."""
    event = _EVENT.validate_python(data)
    errors = event_errors(event, *timestamp_window())
    if errors:
        raise _refused("EventCreate", [((field,), message, value) for field, message, value in errors])
    return event


class EventsIngest(BaseModel):
    events: list[EventCreate] = Field(max_length=MAX_EVENTS_PER_REQUEST)

    @field_validator("events")
    @classmethod
    def _rules(cls, events: list[EventCreate]) -> list[EventCreate]:
        oldest, newest, window = timestamp_window()
        errors = []
        for i, event in enumerate(events):
            found = event_errors(event, oldest, newest, window)
            if found:
                errors += [((i, field), message, value) for field, message, value in found]
        if errors:
            raise _refused("EventsIngest", errors)  # located under `events` by pydantic
        return events

    def __repr__(self) -> str:
        # Powertools formats the route's arguments into a debug message on every request, whatever the log
        # level: pydantic's own repr of 1,000 events cost the ingest 12 ms (12 us an event) per request.
        return f"EventsIngest({len(self.events)} events)"


class EventTypeUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=128)
    label_property_selector: str | None = Field(default=None, min_length=1, max_length=256)


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from functions.common.schemas import Schema
    from functions.customers.schemas import Customer

    class EventsIngestResponse(Schema):
        inserted: int = Field(description="events written by this request")
        duplicates: int = Field(default=0, description="events whose external_id was already ingested")

    class Event(Schema):
        """Polar's Event (source `user`), plus `ingested_at` and `late` (counted in a later open period)."""

        id: str
        timestamp: datetime
        organization_id: str
        customer_id: str
        customer: Customer | None
        external_customer_id: str | None
        external_id: str | None
        child_count: int
        parent_id: str | None
        label: str
        name: str
        source: Literal["user"]
        metadata: dict[str, MetadataValue]
        ingested_at: datetime
        late: bool

    class EventName(Schema):
        """Polar's EventName."""

        name: str
        label: str
        source: Literal["user", "system"]
        occurrences: int
        first_seen: datetime
        last_seen: datetime

    class EventType(Schema):
        """Polar's EventType: one per event name; the id is derived from the organization and the name."""

        id: str
        organization_id: str
        name: str
        label: str
        label_property_selector: str | None
        created_at: datetime
        modified_at: datetime | None

    class EventTypeWithStats(EventType):
        """Polar's EventTypeWithStats."""

        source: Literal["user", "system"]
        occurrences: int
        first_seen: datetime
        last_seen: datetime

    return {"EventsIngestResponse": EventsIngestResponse, "Event": Event, "EventName": EventName,
            "EventType": EventType, "EventTypeWithStats": EventTypeWithStats}


__getattr__ = lazy_models(_response_models)
