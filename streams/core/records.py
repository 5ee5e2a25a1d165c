"""The shapes stored in tables and sent on internal topics, and their byte encoding.

Values are compact JSON (orjson) so that a table's changelog is readable by
any client and a replay produces the same bytes as live processing
(docs/semantics.md, "Replay is exact").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from schemas.stances import Stance
from schemas.time import EventTime


class EventRecord(BaseModel):
    """What the log says about one event_id: its content fingerprint and whether it was retracted.

    A record with `event` None is a placeholder: a retraction arrived before
    the event it names.
    """

    model_config = ConfigDict(frozen=True)

    event_id: str
    fingerprint: str | None = None
    event: dict[str, Any] | None = None
    retracted_by: str | None = None


class ClaimOp(BaseModel):
    """An instruction for the actor-partitioned stance agent: add or remove one claim."""

    model_config = ConfigDict(frozen=True)

    op: Literal["add", "remove"]
    actor_id: str
    issue_id: str
    event_id: str
    stance: Stance | None = None
    cause_event_id: str
    cause_occurred_at: EventTime

    @classmethod
    def for_claim(
        cls, op: Literal["add", "remove"], claim: Stance, cause_event_id: str, cause_occurred_at: EventTime
    ) -> ClaimOp:
        """Add or remove one claim, because of the event `cause_event_id`."""
        return cls(
            op=op,
            actor_id=claim.actor_id,
            issue_id=claim.issue_id,
            event_id=claim.event_id,
            stance=claim if op == "add" else None,
            cause_event_id=cause_event_id,
            cause_occurred_at=cause_occurred_at,
        )


def encode_claim_op(
    op: Literal["add", "remove"], stance: Mapping[str, Any], cause_event_id: str, cause_occurred_at: Any
) -> bytes:
    """The bytes of `encode(ClaimOp.for_claim(op, Stance(**stance), cause_event_id, cause_occurred_at))`.

    `stance` is a claim's JSON (`fold.stance_documents`) and `cause_occurred_at`
    the cause's event time as JSON. The event step sends one op per claim and
    never reads it back, so it writes the JSON without building the two models,
    which cost more than the rest of the op (a unit test holds the bytes equal).
    """
    return to_size(
        orjson.dumps(
            {
                "op": op,
                "actor_id": stance["actor_id"],
                "issue_id": stance["issue_id"],
                "event_id": stance["event_id"],
                "stance": stance if op == "add" else None,
                "cause_event_id": cause_event_id,
                "cause_occurred_at": cause_occurred_at,
            }
        )
    )


class StoredStance(Stance):
    """A stance as the stance tables hold it, with what it did when it arrived.

    `made_current` and `replaced` (the event_id of the stance it took over from,
    None for a first stance) let a claim read again after a crash re-send the
    change it made and repair a current record the crash lost: the history and
    current tables have separate changelogs, and a crash can keep one write and
    lose the other, or keep both and lose the change (docs/semantics.md,
    "Nothing is lost").
    """

    made_current: bool = False
    replaced: str | None = None

    def as_stance(self) -> Stance:
        """The public stance, without the bookkeeping."""
        return Stance(**{name: getattr(self, name) for name in Stance.model_fields})


def encode_stored(stance: Stance, made_current: bool = False, replaced: str | None = None) -> bytes:
    """The bytes of `encode(StoredStance(**dict(stance), made_current=..., replaced=...))`.

    The stance step writes one stored stance per claim; building the model
    only to encode it cost more than the rest of the step's writes. A stored
    stance is the stance's JSON with the two fields after it, so they are
    appended to it (a unit test holds the bytes equal).
    """
    if type(stance) is not Stance:
        raise TypeError(f"encode_stored takes a Stance, not a {type(stance).__name__}")
    return b"".join(
        (
            encode(stance)[:-1],
            b',"made_current":true,"replaced":' if made_current else b',"made_current":false,"replaced":',
            orjson.dumps(replaced),
            b"}",
        )
    )


class WithdrawnStance(StoredStance):
    """A claim withdrawn by a retraction, kept in the history as a tombstone.

    Deleting it instead would let a crash lose the withdrawal for good (the
    record gone, its change never sent), and a claim read again after its
    withdrawal would come back for a moment. `was_current` says whether the
    withdrawal moved the current stance and `fell_back_to` which claim took
    over (None: none was left), so that, read again, it reports the same change
    again, with the same change_id, whatever arrived since.
    """

    withdrawn_by: str
    withdrawn_occurred_at: EventTime | None = None
    """The event time of the retraction that withdrew it, for reporting the change again."""
    was_current: bool = False
    fell_back_to: str | None = None


WITHDRAWN_MARK = b'"withdrawn_by":"'
"""Only a tombstone's JSON holds this: inside a JSON string a quote is escaped."""


def is_withdrawn(raw: bytes) -> bool:
    return WITHDRAWN_MARK in raw


def parse_stored(raw: bytes) -> StoredStance:
    """A history or current record; a tombstone parses as `WithdrawnStance`."""
    if is_withdrawn(raw):
        return WithdrawnStance.model_validate_json(raw)
    return StoredStance.model_validate_json(raw)


def live_claims(history: Iterable[bytes]) -> int:
    """How many history records are claims, not tombstones."""
    return sum(1 for raw in history if not is_withdrawn(raw))


class RetractRequest(BaseModel):
    """Sent to the partition that owns `target` (the retracted event_id)."""

    model_config = ConfigDict(frozen=True)

    target: str
    retraction_id: str
    occurred_at: EventTime


def to_size(encoded: bytes) -> bytes:
    """A copy of orjson's output in a buffer of its own size.

    orjson (3.13) returns its output in the buffer it wrote into, which it does
    not shrink: a small record held a buffer several times its size. The tables,
    the view and a rebuild keep a record per event and per claim, so every value
    they store is copied to its size first (the figures: docs/benchmarks.md).
    """
    return memoryview(encoded).tobytes()


def encode(model: BaseModel) -> bytes:
    """Compact JSON of a model: the bytes of `orjson.dumps(model.model_dump(mode="json"))`.

    pydantic writes them itself, without building the dict first (cheaper), into
    a buffer of their own size; a unit test holds the two equal,
    so records written before this change read and hash the same.
    """
    return model.__pydantic_serializer__.to_json(model)


def encode_record(record: EventRecord) -> bytes:
    """The same bytes as `encode(record)`, without pydantic walking the event document again."""
    return to_size(
        orjson.dumps(
            {
                "event_id": record.event_id,
                "fingerprint": record.fingerprint,
                "event": record.event,
                "retracted_by": record.retracted_by,
            }
        )
    )


def current_key(actor_id: str, issue_id: str) -> bytes:
    return f"{actor_id}|{issue_id}".encode()


def history_key(actor_id: str, issue_id: str, event_id: str) -> bytes:
    return f"{actor_id}|{issue_id}|{event_id}".encode()


def history_prefix(actor_id: str, issue_id: str) -> bytes:
    return f"{actor_id}|{issue_id}|".encode()
