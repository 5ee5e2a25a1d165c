"""The shared domain of diplomatic-timeline: pure pydantic models, no I/O.

Every other part (publisher, stream agents, scheduler, other-language
publishers through the exported JSON Schema) agrees on these shapes.
"""

from schemas.actors import Actor, ActorKind, Alias, Role
from schemas.digests import Digest, DigestGroup
from schemas.events import (
    AgreementEvent,
    AnnouncementEvent,
    CallEvent,
    DiplomaticEvent,
    EventActor,
    EventRole,
    Location,
    MeetingEvent,
    Quote,
    RetractionEvent,
    Source,
    StatementEvent,
    VisitEvent,
    content_fingerprint,
    derive_event_id,
    parse_event,
)
from schemas.issues import Issue
from schemas.registry import Registry, UnknownReferenceError
from schemas.stances import ChangeKind, Position, Stance, StanceChange, StanceClaim
from schemas.time import EventTime, Precision
from schemas.upcasting import CURRENT_SCHEMA_VERSION, UnsupportedSchemaVersionError, upcast

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "Actor",
    "ActorKind",
    "AgreementEvent",
    "Alias",
    "AnnouncementEvent",
    "CallEvent",
    "ChangeKind",
    "Digest",
    "DigestGroup",
    "DiplomaticEvent",
    "EventActor",
    "EventRole",
    "EventTime",
    "Issue",
    "Location",
    "MeetingEvent",
    "Position",
    "Precision",
    "Quote",
    "Registry",
    "RetractionEvent",
    "Role",
    "Source",
    "Stance",
    "StanceChange",
    "StanceClaim",
    "StatementEvent",
    "UnknownReferenceError",
    "UnsupportedSchemaVersionError",
    "VisitEvent",
    "content_fingerprint",
    "derive_event_id",
    "parse_event",
    "upcast",
]
