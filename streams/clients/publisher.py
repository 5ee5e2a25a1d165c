"""The publisher SDK: validate events, then send them to `diplomacy.events`.

Nothing is sent that does not validate, against the registry topic as the publisher reads it
(its own reader, `streams.registry.reader`; an id it lacks makes it read the topic to its end
once before refusing, so an actor registered a second ago is known). Each event is keyed by its
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

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from schemas.events import DiplomaticEvent
from schemas.registry_log import RegistryView
from streams.clients.author import EventInput, InvalidEventError, prepare_event
from streams.kafka import connection
from streams.registry.reader import RegistryReader
from streams.settings import Settings

__all__ = [
    "EventInput",
    "InvalidEventError",
    "Outgoing",
    "Published",
    "Publisher",
    "SyncPublisher",
    "prepare_event",
]

Outgoing = tuple[bytes, bytes]
"""A validated event ready to send: its key (the event_id) and its bytes."""


@dataclass(frozen=True)
class Published:
    event_id: str
    partition: int
    offset: int


class Publisher:
    """Async publisher; use as `async with Publisher(settings) as publisher`."""

    def __init__(self, settings: Settings, registry: RegistryView | None = None) -> None:
        """`registry`: what to validate against; by default the registry topic, read from `start`."""
        self.settings = settings
        self.reader: RegistryReader | None = None
        self.registry: RegistryView
        if registry is None:
            self.registry = self.reader = RegistryReader(settings, wait=False)
        else:
            self.registry = registry
        self.topic = settings.topics.events
        self._producer: AIOKafkaProducer | None = None
        self._started = registry is not None

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
        if self.reader is not None:
            try:
                await self.reader.start()
            except BaseException:
                await self.stop()
                raise
        self._started = True

    async def stop(self) -> None:
        if self.reader is not None:
            await self.reader.stop()
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
        if not self._started:
            raise RuntimeError("Publisher is not started (it reads the registry topic): use 'async with'")
        return prepare_event(raw, self.registry, self.settings.max_event_bytes, line=line)

    async def _prepared(self, raw: EventInput, line: int | None = None) -> tuple[DiplomaticEvent, bytes]:
        """`prepare`; on an unknown id, read the registry topic to its end and try once more."""
        try:
            return self.prepare(raw, line)
        except InvalidEventError as error:
            if error.reason != "unknown_reference" or self.reader is None:
                raise
        await self.reader.catch_up()
        return self.prepare(raw, line)

    def _require_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("Publisher is not started: use 'async with Publisher(...)'")
        return self._producer

    async def publish(self, raw: EventInput) -> Published:
        """Validate and send one event; wait until the broker has it (acks=all)."""
        event, encoded = await self._prepared(raw)
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
        prepared = []
        for index, raw in enumerate(events, start=1):
            event, encoded = await self._prepared(raw, line=index)
            prepared.append((_key(event), encoded))
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

    def __init__(self, settings: Settings, registry: RegistryView | None = None) -> None:
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
