"""The latest digest of each subscription, read from the digest topic.

Only the newest digest per subscription is kept (a few per subscription ever matter to the
API), so reading the whole topic from the beginning at start stays cheap; the feed then
follows the topic for new digests.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from mode import Service
from pydantic import ValidationError

from schemas.digests import Digest
from streams.clients.subscriber import poison_reason, warn_skipped
from streams.kafka import connection
from streams.kafka.metadata import topic_partitions
from streams.settings import Settings

logger = logging.getLogger(__name__)


class DigestFeed(Service):
    """Keeps `latest`: subscription_id -> its digest with the latest window end."""

    def __init__(self, settings: Settings, **kwargs: object) -> None:
        self.settings = settings
        self.topic = settings.topics.digests
        self.latest: dict[str, Digest] = {}
        self.skipped = 0
        """Records on the digest topic that are not a valid digest."""
        self.ready = False
        """True once the topic is read up to the end offsets it had when the feed started."""
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def apply(self, value: bytes) -> None:
        """Keep a digest if it is its subscription's newest; `ValidationError` for a bad record."""
        digest = Digest.model_validate_json(value)
        known = self.latest.get(digest.subscription_id)
        if known is None or known.window_end <= digest.window_end:
            self.latest[digest.subscription_id] = digest

    def newest(self, subscription: str | None = None) -> Digest | None:
        """One subscription's latest digest, or the latest of all (by window end)."""
        if subscription is not None:
            return self.latest.get(subscription)
        return max(self.latest.values(), key=lambda digest: digest.window_end, default=None)

    @Service.task
    async def _feed(self) -> None:
        consumer = connection.consumer(self.settings, enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            partitions = await self._partitions(consumer)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            targets = await consumer.end_offsets(partitions)
            while not self.should_stop:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        self._take(record)
                if not self.ready and await self._caught_up(consumer, targets):
                    self.ready = True
                    logger.info("digests: ready (%d subscriptions)", len(self.latest))
        finally:
            await consumer.stop()

    def _take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.value is None:
            return
        try:
            self.apply(record.value)
        except ValidationError as error:
            self.skipped += 1
            warn_skipped(logger, "digests", record, poison_reason(error))

    @staticmethod
    async def _caught_up(consumer: AIOKafkaConsumer, targets: dict[TopicPartition, int]) -> bool:
        positions = [await consumer.position(partition) for partition in targets]
        return all(position >= target for position, target in zip(positions, targets.values(), strict=True))

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """The digest topic's partitions; waits until the worker has created the topic."""
        while True:
            found = await topic_partitions(consumer, self.topic)
            if found:
                return found
            await asyncio.sleep(0.5)
