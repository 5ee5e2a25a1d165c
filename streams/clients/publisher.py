"""The publisher SDK: validate events, then send them to `diplomacy.events`.

Nothing is sent that does not validate. Each event is keyed by its
`event_id` (derived from its content when a script gives none, so re-running
a script publishes nothing new), stamped with `recorded_at`, and sent with
`acks=all` through the idempotent producer.

    async with Publisher(Settings()) as publisher:
        await publisher.publish({"type": "statement", ...})

    with SyncPublisher(Settings()) as publisher:
        publisher.publish_many(events)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata
from pydantic import BaseModel

from schemas.events import (
    DiplomaticEvent,
    EventRejected,
    derive_event_id,
    encode_event,
    parse_event,
)
from schemas.registry import Registry, UnknownReferenceError
from streams.kafka import connection
from streams.registry_files import load_registry
from streams.settings import Settings

EventInput = DiplomaticEvent | dict[str, Any] | str | bytes


class InvalidEventError(ValueError):
    """An event the publisher refuses, with a reason code and a message naming the fields."""

    def __init__(self, reason: str, message: str, line: int | None = None) -> None:
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{message}")
        self.reason = reason
        self.message = message
        self.line = line


Outgoing = tuple[bytes, bytes]
"""A validated event ready to send: its key (the event_id) and its bytes."""


@dataclass(frozen=True)
class Published:
    event_id: str
    partition: int
    offset: int


def prepare_event(
    raw: EventInput,
    registry: Registry,
    max_bytes: int,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    line: int | None = None,
) -> tuple[DiplomaticEvent, bytes]:
    """Validate, resolve aliases, fill `event_id` and `recorded_at`; return the event and its bytes."""
    try:
        document: Any = raw.model_dump() if isinstance(raw, BaseModel) else raw
        event = parse_event(document)
        event = registry.canonicalize(event)
    except EventRejected as error:
        raise InvalidEventError(error.reason, error.message, line) from error
    except UnknownReferenceError as error:
        raise InvalidEventError("unknown_reference", str(error), line) from error
    updates: dict[str, Any] = {"recorded_at": now()}
    if event.event_id is None:
        updates["event_id"] = derive_event_id(event)
    event = event.model_copy(update=updates)
    encoded = encode_event(event)
    if len(encoded) > max_bytes:
        raise InvalidEventError(
            "oversized",
            f"event is {len(encoded)} bytes, more than the limit of {max_bytes} (TIMELINE_MAX_EVENT_BYTES)",
            line,
        )
    return event, encoded


class Publisher:
    """Async publisher; use as `async with Publisher(settings) as publisher`."""

    def __init__(self, settings: Settings, registry: Registry | None = None) -> None:
        self.settings = settings
        self.registry = registry if registry is not None else load_registry(settings.registry_files)
        self.topic = settings.topics.events
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = connection.producer(
            self.settings,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=256 * 1024,
            max_request_size=max(1024 * 1024, self.settings.max_event_bytes * 2),
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def __aenter__(self) -> Publisher:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def prepare(self, raw: EventInput, line: int | None = None) -> tuple[DiplomaticEvent, bytes]:
        """Validate one event without sending it (what `--dry-run` does)."""
        return prepare_event(raw, self.registry, self.settings.max_event_bytes, line=line)

    def _require_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("Publisher is not started: use 'async with Publisher(...)'")
        return self._producer

    async def publish(self, raw: EventInput) -> Published:
        """Validate and send one event; wait until the broker has it (acks=all)."""
        event, encoded = self.prepare(raw)
        metadata: RecordMetadata = await self._require_producer().send_and_wait(
            self.topic, encoded, key=_key(event)
        )
        return Published(_key(event).decode(), metadata.partition, metadata.offset)

    def prepare_outgoing(self, raw: EventInput, line: int | None = None) -> Outgoing:
        """Validate one event; keep only its key and bytes for sending.

        A batch held as validated models costs the cyclic garbage collector a
        scan of every nested object, a large share of the cost of validating a
        large batch (docs/benchmarks.md); keys and bytes are not scanned.
        """
        event, encoded = self.prepare(raw, line=line)
        return _key(event), encoded

    async def publish_many(
        self,
        events: Iterable[EventInput],
        on_sent: Callable[[int], None] | None = None,
    ) -> list[Published]:
        """Validate every event first, then send them batched; all or nothing on validation."""
        prepared = [self.prepare_outgoing(raw, line=index) for index, raw in enumerate(events, start=1)]
        return await self.send_prepared(prepared, on_sent)

    async def send_prepared(
        self,
        prepared: Sequence[Outgoing | tuple[DiplomaticEvent, bytes]],
        on_sent: Callable[[int], None] | None = None,
    ) -> list[Published]:
        """Send already validated events, in order, in batches; report progress per chunk."""
        producer = self._require_producer()
        results: list[Published] = []
        chunk = 1000
        for start in range(0, len(prepared), chunk):
            futures = []
            keys = []
            for event, encoded in prepared[start : start + chunk]:
                key = event if isinstance(event, bytes) else _key(event)
                keys.append(key)
                futures.append(await producer.send(self.topic, encoded, key=key))
            for key, metadata in zip(keys, await asyncio.gather(*futures), strict=True):
                results.append(Published(key.decode(), metadata.partition, metadata.offset))
            if on_sent is not None:
                on_sent(len(futures))
        return results


def _key(event: DiplomaticEvent) -> bytes:
    assert event.event_id is not None, "prepare_event always sets event_id"
    return event.event_id.encode()


class SyncPublisher:
    """A blocking wrapper for scripts: `with SyncPublisher(settings) as p: p.publish(e)`."""

    def __init__(self, settings: Settings, registry: Registry | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._publisher = Publisher(settings, registry)

    def __enter__(self) -> SyncPublisher:
        self._loop.run_until_complete(self._publisher.start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._loop.run_until_complete(self._publisher.stop())
        finally:
            self._loop.close()

    def publish(self, raw: EventInput) -> Published:
        return self._loop.run_until_complete(self._publisher.publish(raw))

    def publish_many(self, events: Iterable[EventInput]) -> list[Published]:
        return self._loop.run_until_complete(self._publisher.publish_many(events))
