"""Diplomatic events: the records of the log, a union discriminated on `type`.

Every event carries the stance claims it makes (`stances`). A `retraction`
names an earlier event whose claims no longer stand. Events are plain JSON on
the topic, so a publisher in any language can write them against the exported
JSON Schema.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas.actors import CountryCode
from schemas.input_forms import text_or_object
from schemas.problems import problems_of, summarise, unknown_type_problems
from schemas.stances import StanceClaim
from schemas.time import EventTime, require_utc
from schemas.upcasting import UnsupportedSchemaVersionError, upcast

EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
"""Letters, digits and `._:-`, at most 128 characters; the Kafka key of the event."""

ActorRef = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
"""An actor id, or an alias the registry resolves to one before publishing."""


class EventRole(StrEnum):
    SPEAKER = "speaker"
    HOST = "host"
    GUEST = "guest"
    TARGET = "target"
    PARTICIPANT = "participant"
    SUBJECT = "subject"
    SIGNATORY = "signatory"
    """One of those who put their name to a joint statement, a declaration or an agreement."""


class EventActor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor_id: ActorRef
    role: EventRole


class Location(BaseModel):
    """Where it happened; a publisher may write the place's name alone ("Paris")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    country: CountryCode | None = Field(
        default=None, description="Gives context aliases their meaning ('the Prime Minister' in GBR)."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    __get_pydantic_json_schema__ = text_or_object({"type": "string", "minLength": 1, "maxLength": 200})


class Source(BaseModel):
    """Where the event was reported."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outlet: str = Field(min_length=1, max_length=200)
    title: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    published_at: EventTime | None = None


class Quote(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor_id: ActorRef
    text: str = Field(min_length=1, max_length=4000)


class Status(StrEnum):
    """Whether a meeting, visit or call has happened when it is reported."""

    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


class _EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    event_id: EventId | None = Field(
        default=None,
        description="Required on the topic. When a publisher leaves it out, it is derived"
        " from the event's content, so re-running a script publishes nothing new.",
    )
    occurred_at: EventTime = Field(description="Event time, with its precision.")
    recorded_at: datetime | None = Field(
        default=None, description="Set by the publisher when the event is sent."
    )
    actors: tuple[EventActor, ...] = ()
    location: Location | None = None
    source: Source | None = None
    summary: str = Field(min_length=1, max_length=10_000)
    quotes: tuple[Quote, ...] = ()
    stances: tuple[StanceClaim, ...] = ()

    @field_validator("schema_version", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        """`true` or `1.0` is not version 1 (the upcaster refuses them too)."""
        if type(value) is not int:
            raise ValueError(f"schema_version must be a whole number, got {value!r}")
        return value

    @field_validator("recorded_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else require_utc(value)

    @model_validator(mode="after")
    def _one_claim_per_actor_issue(self) -> _EventBase:
        seen: set[tuple[str, str]] = set()
        for claim in self.stances:
            pair = (claim.actor_id, claim.issue_id)
            if pair in seen:
                raise ValueError(
                    f"two stance claims for actor {claim.actor_id!r} on issue {claim.issue_id!r}:"
                    " an event carries at most one claim per (actor, issue)"
                )
            seen.add(pair)
        return self

    def actor_refs(self) -> list[str]:
        """Every actor reference in the event, in order of appearance."""
        refs = [actor.actor_id for actor in self.actors]
        refs += [quote.actor_id for quote in self.quotes]
        refs += [claim.actor_id for claim in self.stances]
        return refs


class StatementEvent(_EventBase):
    """Something said: a remark, an interview, a speech, a post."""

    type: Literal["statement"] = "statement"


class MeetingEvent(_EventBase):
    type: Literal["meeting"] = "meeting"
    status: Status = Status.HELD


class VisitEvent(_EventBase):
    type: Literal["visit"] = "visit"
    status: Status = Status.HELD


class CallEvent(_EventBase):
    type: Literal["call"] = "call"
    status: Status = Status.HELD


class AnnouncementEvent(_EventBase):
    type: Literal["announcement"] = "announcement"


class AgreementEvent(_EventBase):
    type: Literal["agreement"] = "agreement"


class _Signed(_EventBase):
    def signatories(self) -> list[str]:
        """The actors who put their name to it: those with the role `signatory`."""
        return [actor.actor_id for actor in self.actors if actor.role is EventRole.SIGNATORY]


class JointStatementEvent(_Signed):
    """A text several actors issue together (a communiqué, the E3's statement); its signatories
    are its actors with the role `signatory`, each claim still one actor's own."""

    type: Literal["joint_statement"] = "joint_statement"

    @model_validator(mode="after")
    def _has_signatories(self) -> JointStatementEvent:
        if not self.signatories():
            raise ValueError("a joint statement names its signatories: actors with the role 'signatory'")
        return self


class DeclarationEvent(_Signed):
    """A formal declaration (the declaration of 26 EU leaders), by one actor or signed by several."""

    type: Literal["declaration"] = "declaration"


class RetractionEvent(_EventBase):
    """Withdraws an earlier event: its claims no longer count."""

    type: Literal["retraction"] = "retraction"
    retracts: EventId = Field(description="The event_id whose claims are withdrawn.")
    reason: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _no_claims(self) -> RetractionEvent:
        if self.stances:
            raise ValueError("a retraction carries no stance claims: publish a new event for them")
        if self.event_id is not None and self.event_id == self.retracts:
            raise ValueError("an event cannot retract itself")
        return self


DiplomaticEvent = Annotated[
    StatementEvent
    | MeetingEvent
    | VisitEvent
    | CallEvent
    | AnnouncementEvent
    | AgreementEvent
    | JointStatementEvent
    | DeclarationEvent
    | RetractionEvent,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[str, ...] = tuple(
    get_args(member.model_fields["type"].annotation)[0] for member in get_args(get_args(DiplomaticEvent)[0])
)
"""The `type` tags of the union, in its order (derived, so a new event type is listed by itself)."""

event_adapter: TypeAdapter[DiplomaticEvent] = TypeAdapter(DiplomaticEvent)


class EventRejected(ValueError):
    """An event that cannot be accepted, with a machine-readable reason code.

    Reason codes: `invalid_json`, `bad_utf8`, `not_an_object`,
    `unsupported_schema_version`, `invalid_event`.
    """

    def __init__(self, reason: str, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.problems = problems if problems is not None else [message]
        """Every problem in full (`message` summarises a long list)."""


def describe_validation_error(error: ValidationError) -> str:
    """The problems of a validation error on one line, a long list summarised."""
    return summarise(problems_of(error, EVENT_TYPES))


def parse_event(raw: bytes | str | dict[str, Any]) -> DiplomaticEvent:
    """Decode, upcast and validate one event; raise `EventRejected` with a reason."""
    document: Any
    if isinstance(raw, dict):
        document = raw
    else:
        try:
            # The common case, a valid event of the current version: pydantic reads and
            # validates the JSON in one pass (cheaper than orjson, then pydantic: docs/benchmarks.md).
            # Anything else takes the path below, which upcasts older versions and says
            # what is wrong; it accepts nothing this one refuses (tests/unit/test_event_schema.py).
            return event_adapter.validate_json(raw)
        except ValidationError:
            pass
        if isinstance(raw, bytes):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise EventRejected("bad_utf8", f"not valid UTF-8: {error}") from error
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise EventRejected("invalid_json", f"not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise EventRejected("not_an_object", f"an event is a JSON object, got {type(document).__name__}")
    try:
        document = upcast(document)
    except UnsupportedSchemaVersionError as error:
        raise EventRejected("unsupported_schema_version", str(error)) from error
    try:
        return event_adapter.validate_python(document)
    except ValidationError as error:
        problems = unknown_type_problems(document, error, event_adapter, EVENT_TYPES)
        problems = problems or problems_of(error, EVENT_TYPES)
        raise EventRejected("invalid_event", summarise(problems), problems) from error


def _content_document(event: DiplomaticEvent) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude={"event_id", "recorded_at"})


def content_fingerprint(event: DiplomaticEvent) -> str:
    """SHA-256 of what the event says, without its id and publication time.

    Two events with the same id and the same fingerprint are the same event
    published twice; the same id with another fingerprint is a conflict.
    """
    return fingerprint_of_document(_content_document(event))


def fingerprint_of_document(document: dict[str, Any]) -> str:
    """The fingerprint of an event already dumped to JSON types (`model_dump(mode="json")`)."""
    content = {key: value for key, value in document.items() if key not in ("event_id", "recorded_at")}
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def derive_event_id(event: DiplomaticEvent) -> str:
    """A stable id from the event's content: the same script run twice gives the same ids."""
    return f"ev-{content_fingerprint(event)[:24]}"


def encode_event(event: DiplomaticEvent) -> bytes:
    """The bytes of an event on the topic: compact JSON, keys in model order."""
    # Copied to its size: orjson leaves its output in a larger buffer (3.13), and a
    # publisher may hold a large batch of these.
    return memoryview(orjson.dumps(event.model_dump(mode="json"))).tobytes()
