"""Feeds a `StanceView` from the tables' changelog topics and the stance-change topic."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from mode import Service

from streams.clients.subscriber import poison_reason, warn_skipped
from streams.core.stores import CURRENT, EVENTS, HISTORY
from streams.kafka import connection
from streams.kafka.metadata import partitions_by_topic
from streams.query.view import StanceView
from streams.settings import Settings
from streams.worker.offsets import FETCH_MAX_WAIT_MS

logger = logging.getLogger(__name__)


class ViewFeed(Service):
    """Reads every partition of the changelogs from the beginning, with no consumer group."""

    def __init__(self, settings: Settings, view: StanceView, **kwargs: object) -> None:
        self.settings = settings
        self.view = view
        self.stores = {settings.topics.changelog(name): name for name in (EVENTS, CURRENT, HISTORY)}
        self.changes_topic = settings.topics.stance_changes
        self.digests_topic = settings.topics.digests
        super().__init__(**kwargs)  # type: ignore[arg-type]

    @Service.task
    async def _feed(self) -> None:
        consumer = connection.consumer(
            self.settings,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=5000,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,  # a query sees a change soon after it is made
        )
        await consumer.start()
        try:
            partitions = await self._partitions(consumer)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            targets = await consumer.end_offsets(partitions)
            logger.info("view: catching up on %d partitions", len(partitions))
            while not self.should_stop:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for records in batches.values():
                    for record in records:
                        self._apply(record)
                if not self.view.ready and all(
                    await asyncio.gather(*(self._caught_up(consumer, p, o) for p, o in targets.items()))
                ):
                    self.view.ready = True
                    logger.info("view: ready")
        finally:
            await consumer.stop()

    @staticmethod
    async def _caught_up(consumer: AIOKafkaConsumer, partition: TopicPartition, target: int) -> bool:
        return bool(await consumer.position(partition) >= target)

    def _apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Apply one record; a bad one (a `ValueError`: not JSON, not valid) is skipped in one
        line, and a bad stance change counted on the view (`view.changes.skipped`)."""
        topic, key, value = record.topic, record.key, record.value
        try:
            if topic == self.changes_topic:
                if value is not None:
                    self.view.apply_change(value)
            elif topic == self.digests_topic:
                if value is not None:
                    self.view.apply_digest(value)
            elif key is not None:
                self.view.apply(self.stores[topic], key, value)
        except ValueError as error:
            warn_skipped(logger, "view", record, poison_reason(error))
        except Exception:  # not the record's fault: a bug, so keep its traceback
            logger.exception("view: could not apply a record of %s", topic)

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Every partition of the watched topics; waits until the worker has created them."""
        wanted = [*self.stores, self.changes_topic, self.digests_topic]
        while True:
            found = await partitions_by_topic(consumer, wanted)
            if all(found.values()):
                return [partition for partitions in found.values() for partition in partitions]
            await asyncio.sleep(0.5)
