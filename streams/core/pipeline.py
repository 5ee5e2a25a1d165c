"""The processing steps of the stream, over stores and an emitter; shared by worker and rebuild.

Three steps, each for one kind of record:

- `on_event` (records of `diplomacy.events`, partitioned by event_id):
  decode, deduplicate, dead-letter, and fan out claims and retractions;
- `on_retract` (partitioned by the retracted event_id): mark the event
  retracted and withdraw its claims;
- `on_claim` (partitioned by actor): fold one claim into the stance book
  and report a change.

The faust agents call these with faust tables and an emitter that sends to
topics; `timeline rebuild` calls them with dicts and an emitter that feeds
the next step directly. Decisions live in the pure modules (`ingest`,
`fold`); this layer only reads and writes the stores in the right order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Protocol

from schemas.registry_log import RegistryView
from schemas.stances import StanceChange
from schemas.time import EventTime
from streams.core.ingest import Accepted, Behind, Duplicate, Rejected, StanceDocument, decide, retract
from streams.core.records import ClaimOp, EventRecord, RetractRequest, encode_claim_op, encode_record
from streams.core.stance_book import StanceBook

Store = MutableMapping[bytes, bytes]
CatchUp = Callable[[datetime], Awaitable[None]]
"""Read the registry topic to its end, complete through at least the instant given (I/O: the
agent's or replay driver's, `streams.registry.reader.RegistryReader.catch_up`)."""


class Emitter(Protocol):
    async def dead_letter(self, key: bytes | None, value: bytes | None, reason: str, error: str) -> None: ...

    async def claim(self, actor_id: str, op: bytes) -> None:
        """A claim op for the stance step, keyed by its actor: `ClaimOp` as JSON."""

    async def retract(self, request: RetractRequest) -> None: ...

    async def change(self, change: StanceChange) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class Pipeline:
    def __init__(
        self,
        events: Store,
        book: StanceBook,
        registry: RegistryView,
        clock: Callable[[], datetime] = utc_now,
        max_event_bytes: int | None = None,
    ) -> None:
        self.events = events
        self.book = book
        self.registry = registry
        self.clock = clock
        self.max_event_bytes = max_event_bytes
        self.duplicates = 0

    async def on_event_caught_up(
        self,
        key: bytes | None,
        value: bytes | None,
        timestamp_ms: int,
        emit: Emitter,
        catch_up: CatchUp | None,
    ) -> None:
        """`on_event`, with the caller's catch-up run whenever the registry view is behind."""
        while (behind := await self.on_event(key, value, timestamp_ms, emit)) is not None:
            if catch_up is None:
                raise RuntimeError("the registry view is behind and nothing can read it to its end")
            await catch_up(behind.as_of)

    def record_of(self, event_id: str) -> EventRecord | None:
        raw = self.events.get(event_id.encode())
        return None if raw is None else EventRecord.model_validate_json(raw)

    async def on_event(
        self, key: bytes | None, value: bytes | None, timestamp_ms: int, emit: Emitter
    ) -> Behind | None:
        """One record of the event log; `Behind` (nothing written, nothing sent) when the caller
        must first read the registry topic to its end (`streams.registry.reader`), then call again."""
        stored: bytes | None = None
        if key is not None:
            try:
                key.decode()
            except UnicodeDecodeError:
                pass
            else:
                stored = self.events.get(key)
        existing = None if stored is None else EventRecord.model_validate_json(stored)
        decision = decide(
            key,
            value,
            existing,
            self.registry,
            datetime.fromtimestamp(timestamp_ms / 1000, UTC),
            self.max_event_bytes,
        )
        if isinstance(decision, Behind):
            return decision
        if isinstance(decision, Rejected):
            await emit.dead_letter(key, value, decision.reason, decision.error)
            return None
        if isinstance(decision, Duplicate):
            self.duplicates += 1
            if key is not None and stored is not None:
                # Written again as found: a crash may have kept it on disk and lost its changelog record.
                self.events[key] = stored
            await self._send_again(decision, emit)
            return None
        await self._accept(decision, emit)
        return None

    async def _accept(self, decision: Accepted, emit: Emitter) -> None:
        event = decision.event
        assert event.event_id is not None
        # Claims are sent before the record is stored: a retraction that finds the
        # record can then only withdraw claims that were already sent ahead of it.
        await self._add_claims(decision.claims, emit)
        record = decision.record
        latest = self.record_of(event.event_id)
        if latest is not None and latest.retracted_by is not None and record.retracted_by is None:
            # A retraction arrived while the claims were being sent: withdraw them again.
            record = record.model_copy(update={"retracted_by": latest.retracted_by})
            await self._withdraw(decision.claims, latest.retracted_by, event.occurred_at, emit)
        self.events[event.event_id.encode()] = encode_record(record)
        await self._ask_to_retract(decision.retracts, event.event_id, event.occurred_at, emit)

    async def _send_again(self, duplicate: Duplicate, emit: Emitter) -> None:
        if duplicate.occurred_at is None:
            return  # a copy published later: nothing to send
        await self._add_claims(duplicate.claims, emit)
        await self._ask_to_retract(duplicate.retracts, duplicate.event_id, duplicate.occurred_at, emit)

    async def _add_claims(self, claims: list[StanceDocument], emit: Emitter) -> None:
        """Send an accepted event's claims, each caused by the event itself."""
        for claim in claims:
            await emit.claim(
                claim["actor_id"], encode_claim_op("add", claim, claim["event_id"], claim["occurred_at"])
            )

    async def _ask_to_retract(
        self, target: str | None, retraction_id: str, occurred_at: EventTime, emit: Emitter
    ) -> None:
        """Ask the owner of the retracted event to withdraw its claims (when this is a retraction)."""
        if target is not None:
            await emit.retract(
                RetractRequest(target=target, retraction_id=retraction_id, occurred_at=occurred_at)
            )

    async def on_retract(self, request: RetractRequest, emit: Emitter) -> None:
        record, withdrawn = retract(self.record_of(request.target), request.target, request.retraction_id)
        # The mark is stored before the withdrawals are sent, so that a copy of the event
        # arriving meanwhile sees it and does not send the claims again after them.
        self.events[request.target.encode()] = encode_record(record)
        await self._withdraw(withdrawn, request.retraction_id, request.occurred_at, emit)

    async def _withdraw(
        self, claims: list[StanceDocument], retraction_id: str, occurred_at: EventTime, emit: Emitter
    ) -> None:
        cause_occurred_at = occurred_at.model_dump(mode="json")
        for claim in claims:
            await emit.claim(
                claim["actor_id"], encode_claim_op("remove", claim, retraction_id, cause_occurred_at)
            )

    async def on_claim(self, op: ClaimOp, emit: Emitter) -> None:
        change = fold_claim(self.book, op, self.clock())
        if change is not None:
            await emit.change(change)


def fold_claim(book: StanceBook, op: ClaimOp, detected_at: datetime) -> StanceChange | None:
    """The stance step for one claim op (also run alone by the staged replay's stance process)."""
    if op.op == "add":
        assert op.stance is not None
        return book.add(op.stance, detected_at)
    return book.remove(
        op.actor_id, op.issue_id, op.event_id, op.cause_event_id, op.cause_occurred_at, detected_at
    )
