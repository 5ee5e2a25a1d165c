"""Ingest decisions for one record of `diplomacy.events`. Pure.

Given the record's bytes and what the events table already holds for its
event_id, decide: reject (to the dead-letter topic, with a reason), ignore a
duplicate, or accept (store the record, send its claims, or ask the owner of
a retracted event to withdraw that event's claims).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.events import (
    DiplomaticEvent,
    EventRejected,
    RetractionEvent,
    fingerprint_of_document,
    parse_event,
)
from schemas.registry import UnknownReferenceError
from schemas.registry_log import RegistryView
from schemas.time import EventTime
from streams.core.fold import stance_documents
from streams.core.records import EventRecord

StanceDocument = dict[str, Any]
"""A stance claim as the JSON of `schemas.stances.Stance` (`fold.stance_documents`)."""


@dataclass(frozen=True)
class Rejected:
    reason: str
    error: str


@dataclass(frozen=True)
class Duplicate:
    """The same event again: nothing changes.

    After a crash the worker reads again every record since its last committed
    offset; the record stored in the events table may then have reached the
    changelog while the claims it sent did not. So when the record is the very
    one accepted (same `recorded_at`, which the publisher stamps at each send),
    its claims (or retraction request) are sent again: the stance step holds
    them already and only re-sends, with the same change_id, a change a crash
    may have lost (docs/semantics.md, "Nothing is lost"). A copy published later
    has another `recorded_at` and sends nothing (docs/semantics.md, "Idempotent").
    """

    event_id: str
    claims: list[StanceDocument] = field(default_factory=list)
    retracts: str | None = None
    occurred_at: EventTime | None = None
    """The accepted event's time, which the claims and the retraction request carry."""


@dataclass(frozen=True)
class Accepted:
    event: DiplomaticEvent
    record: EventRecord
    claims: list[StanceDocument] = field(default_factory=list)
    retracts: str | None = None


@dataclass(frozen=True)
class Behind:
    """The event names an id the registry view lacks, and the view is not known to be complete
    through the event's `recorded_at`: read the registry to its end, then decide again."""

    as_of: datetime


Decision = Rejected | Duplicate | Accepted | Behind

RECORDED_AHEAD = timedelta(minutes=1)
"""The registry is read as of `recorded_at`, but at most this long after the Kafka record's
timestamp (a producer stamps `recorded_at` before it sends): a record claiming a far later
`recorded_at` is decided as of then, so no worker waits for a future instant."""


def decide(
    key: bytes | None,
    value: bytes | None,
    existing: EventRecord | None,
    registry: RegistryView,
    record_time: datetime,
    max_bytes: int | None = None,
) -> Decision:
    """Decide what one record of the event log does to the state.

    `record_time` (the Kafka record's timestamp) stands in for `recorded_at`
    when a producer left it out, so that a replay decides the same way. The
    event is checked against the registry as of its `recorded_at`
    (docs/semantics.md, "The registry, as of recorded_at").
    """
    if value is None:
        return Rejected("empty_value", "the record has no value (a tombstone is not an event)")
    if max_bytes is not None and len(value) > max_bytes:
        return Rejected(
            "oversized",
            f"the record is {len(value)} bytes; events may be at most {max_bytes} bytes"
            " (TIMELINE_MAX_EVENT_BYTES)",
        )
    try:
        event = parse_event(value)
    except EventRejected as error:
        return Rejected(error.reason, error.message)
    recorded = event.recorded_at or record_time
    as_of = min(recorded, record_time + RECORDED_AHEAD)
    known = registry.as_of(as_of)
    if not known.is_canonical(event):  # the common case is canonical: ids only, all known
        if as_of > registry.complete_through:
            return Behind(as_of)
        try:
            event = known.canonicalize(event)
        except EventRejected as error:
            return Rejected(error.reason, error.message)
        except UnknownReferenceError as error:
            return Rejected("unknown_reference", str(error))
    if event.event_id is None:
        return Rejected("missing_event_id", "event_id is required on the topic")
    if key is not None and key != event.event_id.encode():
        return Rejected(
            "key_mismatch",
            f"the record key {key!r} is not the event_id {event.event_id!r}: events are keyed by event_id",
        )
    if event.recorded_at is None:
        event = event.model_copy(update={"recorded_at": record_time})
    document = event.model_dump(mode="json")
    fingerprint = fingerprint_of_document(document)
    if existing is not None and existing.fingerprint is not None:
        if existing.fingerprint == fingerprint:
            if existing.event is not None and existing.event.get("recorded_at") == document.get(
                "recorded_at"
            ):
                return _duplicate(existing)  # the very record again: read again after a crash
            return Duplicate(event.event_id or "")  # published again later: nothing to do
        return Rejected(
            "conflict",
            f"event_id {event.event_id!r} was already accepted with different content"
            f" (fingerprint {existing.fingerprint[:12]} there, {fingerprint[:12]} here)",
        )
    retracted_by = existing.retracted_by if existing is not None else None
    record = EventRecord(
        event_id=event.event_id,
        fingerprint=fingerprint,
        event=document,
        retracted_by=retracted_by,
    )
    return Accepted(
        event=event,
        record=record,
        claims=[] if retracted_by is not None else stance_documents(document),
        retracts=event.retracts if isinstance(event, RetractionEvent) else None,
    )


def _duplicate(existing: EventRecord) -> Duplicate:
    """What to send again for an accepted event seen once more (as it was first accepted)."""
    assert existing.event is not None
    original = parse_event(existing.event)
    return Duplicate(
        existing.event_id,
        claims=[] if existing.retracted_by is not None else _claims_of_stored(original),
        retracts=original.retracts if isinstance(original, RetractionEvent) else None,
        occurred_at=original.occurred_at,
    )


def _claims_of_stored(event: DiplomaticEvent) -> list[StanceDocument]:
    """The claims of a stored event, read again through the current schema."""
    return stance_documents(event.model_dump(mode="json"))


def retract(
    existing: EventRecord | None, target: str, retraction_id: str
) -> tuple[EventRecord, list[StanceDocument]]:
    """Mark `target` retracted; return its new record and the claims to withdraw.

    If the target has not arrived yet, a placeholder remembers the
    retraction so that the event's claims never count. Of two retractions of
    one event, the smaller id is kept, so the outcome does not depend on order.
    """
    if existing is None:
        return EventRecord(event_id=target, retracted_by=retraction_id), []
    keep = retraction_id if existing.retracted_by is None else min(existing.retracted_by, retraction_id)
    record = existing.model_copy(update={"retracted_by": keep})
    if existing.event is None:
        return record, []
    # Withdrawn again when already retracted: a crash may have lost the first withdrawals,
    # and withdrawing a claim the stance step no longer holds does nothing.
    return record, _claims_of_stored(parse_event(existing.event))
