"""Pages and live tails of stance changes, read from the change topic itself.

The topic is the truth and already holds every change in order per partition: the API reads
it on demand instead of keeping a copy in every worker. One consumer (no group: it assigns
every partition and seeks) serves every request in turn behind a lock, so the number of
clients never multiplies the connections to Kafka; between requests its partitions are paused
and it fetches nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from mode import Service

from schemas.stances import StanceChange
from streams.clients.subscriber import PoisonChange, RecentIds, parse_change, warn_skipped
from streams.kafka import connection
from streams.kafka.metadata import topic_partitions
from streams.query.change_pages import (
    BadCursor,
    ChangeCursor,
    ChangePage,
    Kept,
    as_utc,
    merge,
    seek_ms,
    start_offsets,
)
from streams.settings import Settings
from streams.worker.offsets import FETCH_MAX_WAIT_MS

logger = logging.getLogger(__name__)

READ_TIMEOUT = 10.0
"""The longest one page reads; a page cut short still has an exact cursor of what it read."""
ENDS_MAX_AGE = 0.25
"""Followers at the end share one end-offset probe this old at most: N streams, ~4 probes/s."""
FOLLOW_BATCH = 500
REMEMBER_BAD = 10_000
"""Bad records remembered, so each is logged and counted once, not on every page that reads it."""


class NotReady(RuntimeError):
    """The reader has not found the change topic yet (the worker is still starting)."""


class ChangeReader(Service):
    """Reads pages of stance changes from the change topic and follows it for streams."""

    def __init__(self, settings: Settings, **kwargs: object) -> None:
        self.settings = settings
        self.topic = settings.topics.stance_changes
        self.skipped = 0
        """Records on the topic that are not a valid stance change (each counted once)."""
        self.open_streams = 0
        self.read_timeout = READ_TIMEOUT
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: dict[int, TopicPartition] = {}
        self._lock = asyncio.Lock()
        self._probe_lock = asyncio.Lock()
        self._ends: tuple[float, dict[int, int]] | None = None
        self._bad: OrderedDict[tuple[int, int], None] = OrderedDict()
        super().__init__(**kwargs)  # type: ignore[arg-type]

    @property
    def ready(self) -> bool:
        return bool(self._partitions)

    @Service.task
    async def _open(self) -> None:
        """Start the consumer and wait until the worker has created the topic."""
        consumer = connection.consumer(
            self.settings,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=FOLLOW_BATCH,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,  # a stream sees a change soon after it is made
        )
        await consumer.start()
        self._consumer = consumer
        while not self.should_stop:
            found = await topic_partitions(consumer, self.topic)
            if found:
                consumer.assign(found)
                consumer.pause(*found)
                self._partitions = {tp.partition: tp for tp in found}
                logger.info("changes: reading %s (%d partitions)", self.topic, len(found))
                return
            await asyncio.sleep(0.5)

    async def on_stop(self) -> None:
        async with self._lock:  # not under a page being read
            consumer, self._consumer, self._partitions = self._consumer, None, {}
            if consumer is not None:
                await consumer.stop()

    def _need(self) -> tuple[AIOKafkaConsumer, dict[int, TopicPartition]]:
        if self._consumer is None or not self._partitions:
            raise NotReady(f"the change topic {self.topic} is not open yet")
        return self._consumer, self._partitions

    # -- pages ----------------------------------------------------------------

    async def page(self, cursor: ChangeCursor | None, since: datetime | None, limit: int) -> ChangePage:
        """Up to `limit` changes after `cursor`, or detected at or after `since` (None: from the
        beginning), merged by (detected_at, change_id); never past the end offsets the topic had
        when asked. `BadCursor` for a cursor naming partitions the topic lacks."""
        consumer, partitions = self._need()
        tps = list(partitions.values())
        async with self._lock:
            ends = self._by_partition(await consumer.end_offsets(tps))
            beginnings = self._by_partition(await consumer.beginning_offsets(tps))
            if cursor is not None:
                since = cursor.since
                start = start_offsets(cursor.offsets, beginnings, ends)
            elif since is not None:
                since = as_utc(since)
                found = await consumer.offsets_for_times({tp: seek_ms(since) for tp in tps})
                start = {
                    tp.partition: ends[tp.partition] if at is None else at.offset for tp, at in found.items()
                }
                start = start_offsets(start, beginnings, ends)
            else:
                start = beginnings
            runs, stops, cut_short = await self._read(consumer, start, ends, since, limit)
        taken, position = merge(runs, start, stops, limit)
        return ChangePage(taken, start, position, ends, since, cut_short)

    async def _read(
        self,
        consumer: AIOKafkaConsumer,
        start: dict[int, int],
        ends: dict[int, int],
        since: datetime | None,
        limit: int,
    ) -> tuple[dict[int, list[Kept]], dict[int, int], bool]:
        """Read each partition from its start until `limit` changes are kept or its end offset;
        returns the kept changes, where each partition's read stopped, and whether the deadline
        cut the read short."""
        active = {p for p in start if start[p] < ends[p]}
        runs: dict[int, list[Kept]] = {p: [] for p in active}
        stops = {p: start[p] for p in active}
        seen: dict[int, set[str]] = {p: set() for p in active}
        for p in active:
            consumer.seek(self._partitions[p], start[p])
        consumer.resume(*(self._partitions[p] for p in active))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.read_timeout
        try:
            while active and (left := deadline - loop.time()) > 0:
                wanted = [self._partitions[p] for p in sorted(active)]
                batches = await consumer.getmany(*wanted, timeout_ms=max(1, int(min(left, 0.5) * 1000)))
                for tp, records in batches.items():
                    p = tp.partition
                    if p not in active:
                        continue
                    for record in records:
                        if record.offset >= ends[p]:
                            stops[p] = ends[p]
                            break
                        stops[p] = record.offset + 1
                        change = self._wanted(record, since, seen[p])
                        if change is not None:
                            runs[p].append(Kept(change, record.offset))
                        if len(runs[p]) >= limit or stops[p] >= ends[p]:
                            break
                    if len(runs[p]) >= limit or stops[p] >= ends[p]:
                        active.discard(p)
                        consumer.pause(tp)
                if not batches:  # nothing came: a partition may end in markers, not records
                    for p in list(active):
                        if await consumer.position(self._partitions[p]) >= ends[p]:
                            stops[p] = ends[p]
                            active.discard(p)
        finally:
            consumer.pause(*self._partitions.values())
        return runs, stops, bool(active)

    def _wanted(
        self, record: ConsumerRecord[bytes, bytes], since: datetime | None, seen: set[str]
    ) -> StanceChange | None:
        """The record's change if a page should hold it: valid, not before `since`, not a copy."""
        if record.value is None:
            return None
        try:
            change = parse_change(record.value)
        except PoisonChange as error:
            self._bad_record(record, str(error))
            return None
        if (since is not None and change.detected_at < since) or change.change_id in seen:
            return None
        seen.add(change.change_id)
        return change

    def _bad_record(self, record: ConsumerRecord[bytes, bytes], reason: str) -> None:
        where = (record.partition, record.offset)
        if where in self._bad:
            return
        self._bad[where] = None
        if len(self._bad) > REMEMBER_BAD:
            self._bad.popitem(last=False)
        self.skipped += 1
        warn_skipped(logger, "changes", record, reason)

    @staticmethod
    def _by_partition(offsets: dict[TopicPartition, int]) -> dict[int, int]:
        return {tp.partition: offset for tp, offset in offsets.items()}

    # -- following --------------------------------------------------------------

    async def now(self) -> ChangeCursor:
        """The cursor at the topic's end: a stream from it sends only changes made from now on."""
        return ChangeCursor(dict(await self._latest_ends(max_age=0)))

    def check(self, cursor: ChangeCursor) -> ChangeCursor:
        """The cursor for following (its `since` dropped); `BadCursor` if it names partitions
        this topic lacks."""
        _, partitions = self._need()
        unknown = sorted(set(cursor.offsets) - set(partitions))
        if unknown:
            raise BadCursor(f"cursor: names partition {unknown[0]}, which the change topic does not have")
        return ChangeCursor(dict(cursor.offsets))

    async def _latest_ends(self, max_age: float = ENDS_MAX_AGE) -> dict[int, int]:
        """The end offsets, probed at most every `max_age` seconds however many ask."""
        loop = asyncio.get_running_loop()
        async with self._probe_lock:
            if self._ends is None or loop.time() - self._ends[0] > max_age:
                consumer, partitions = self._need()
                ends = self._by_partition(await consumer.end_offsets(list(partitions.values())))
                self._ends = (loop.time(), ends)
            return self._ends[1]

    async def wait_past(self, offsets: dict[int, int], timeout: float) -> bool:
        """Whether some partition's end moved past `offsets` within `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ends = await self._latest_ends()
            if any(end > offsets.get(p, 0) for p, end in ends.items()):
                return True
            left = deadline - loop.time()
            if left <= 0:
                return False
            await asyncio.sleep(min(ENDS_MAX_AGE, left))

    def follower(self, cursor: ChangeCursor) -> ChangeFollower:
        return ChangeFollower(self, cursor)


class ChangeFollower:
    """One stream's place on the topic: each change once, with the cursor right after it."""

    def __init__(self, reader: ChangeReader, cursor: ChangeCursor, remember: int = 10_000) -> None:
        self.reader = reader
        self.cursor = cursor
        self._seen = RecentIds(remember)

    async def next(self, timeout: float) -> list[tuple[StanceChange, ChangeCursor]]:
        """The changes after the cursor, waiting up to `timeout` seconds for some (else [])."""
        if not await self.reader.wait_past(dict(self.cursor.offsets), timeout):
            return []
        page = await self.reader.page(self.cursor, None, FOLLOW_BATCH)
        self.cursor = page.cursor
        return [
            (change, cursor)
            for change, cursor in page.with_cursors()
            if self._seen.first_time(change.change_id)
        ]
