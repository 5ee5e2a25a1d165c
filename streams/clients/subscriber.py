"""The subscriber SDK: typed stance changes from `diplomacy.stance-changes`.

    async with Subscriber(settings, group_id="my-bot", filters=ChangeFilter(issues={"us-backstop"})) as sub:
        await sub.run(handle)          # a change counts as done once handle(change) succeeded

    async for change in sub:           # or iterate: the previous change is done on each step
        ...
    await sub.commit()                 # ... and the last one when you say so

A durable consumer group (`group_id`) resumes where it left off; without one
the subscriber reads from its start point each time. Done changes are
committed at least once a second, whenever the subscriber is about to wait
for more, on `commit()` and on `stop()` (one commit per change capped a
catching-up subscriber at about 175 changes/s). So after a crash up to a
second of handled changes comes again: delivery is at least once, and
changes are de-duplicated by `change_id`.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Literal

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata

from schemas.stances import StanceChange
from schemas.subscriptions import ChangeFilter
from streams.kafka import connection
from streams.settings import Settings

StartPoint = Literal["latest", "earliest"] | datetime


class _SeekToTime(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, partitions with no committed offset start at a point in time."""

    def __init__(self, consumer: AIOKafkaConsumer, moment: datetime) -> None:
        self.consumer = consumer
        self.moment_ms = int(moment.timestamp() * 1000)

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        for partition in assigned:
            if await self.consumer.committed(partition) is not None:
                continue
            found = await self.consumer.offsets_for_times({partition: self.moment_ms})
            offset = found.get(partition)
            if offset is None:
                await self.consumer.seek_to_end(partition)
            else:
                self.consumer.seek(partition, offset.offset)


class Subscriber:
    def __init__(
        self,
        settings: Settings,
        group_id: str | None = None,
        filters: ChangeFilter | None = None,
        start: StartPoint = "latest",
        remember: int = 100_000,
    ) -> None:
        self.settings = settings
        self.group_id = group_id
        self.filters = filters or ChangeFilter()
        self.start_point = start
        self.topic = settings.topics.stance_changes
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._remember = remember
        self._consumer: AIOKafkaConsumer | None = None
        self._pending: dict[TopicPartition, int] = {}
        """Offsets past records handed out (or skipped) by the current `next_change` call."""
        self._done: dict[TopicPartition, int] = {}
        """Offsets past records the caller is finished with, not committed yet."""
        self._last_commit = 0.0
        self.commit_interval = 1.0
        self._buffer: deque[ConsumerRecord[bytes, bytes]] = deque()

    async def start(self) -> None:
        reset = self.start_point if isinstance(self.start_point, str) else "earliest"
        consumer = connection.consumer(
            self.settings,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset=reset,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
        )
        await consumer.start()
        if isinstance(self.start_point, datetime):
            consumer.subscribe([self.topic], listener=_SeekToTime(consumer, self.start_point))
        else:
            consumer.subscribe([self.topic])
        self._consumer = consumer

    async def stop(self) -> None:
        """Commit what is done (not the change handed out last) and leave the group."""
        if self._consumer is not None:
            await self._commit_done()
            await self._consumer.stop()
            self._consumer = None

    async def __aenter__(self) -> Subscriber:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _fresh(self, change: StanceChange) -> bool:
        if change.change_id in self._seen:
            return False
        self._seen[change.change_id] = None
        if len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        return True

    async def commit(self) -> None:
        """Commit everything handed out so far (a no-op without a group)."""
        self._finish_pending()
        await self._commit_done()

    def _finish_pending(self) -> None:
        self._done.update(self._pending)
        self._pending.clear()

    async def _commit_done(self) -> None:
        if self._consumer is None or self.group_id is None or not self._done:
            self._done.clear()
            return
        await self._consumer.commit(
            {partition: OffsetAndMetadata(offset, "") for partition, offset in self._done.items()}
        )
        self._done.clear()
        self._last_commit = asyncio.get_running_loop().time()

    async def next_change(self, timeout: float | None = None) -> StanceChange | None:
        """The next matching, unseen change; None if none came within `timeout` seconds."""
        assert self._consumer is not None, "start the subscriber first"
        self._finish_pending()  # the caller is done with what it was handed before
        loop = asyncio.get_running_loop()
        if self._done and loop.time() - self._last_commit >= self.commit_interval:
            await self._commit_done()
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while True:
            while self._buffer:
                record = self._buffer.popleft()
                partition = TopicPartition(record.topic, record.partition)
                self._pending[partition] = record.offset + 1
                if record.value is None:
                    continue
                change = StanceChange.model_validate_json(record.value)
                if self.filters.matches(change) and self._fresh(change):
                    return change
            self._finish_pending()  # skipped records; about to wait, so commit what is done
            await self._commit_done()
            wait_ms = 500
            if deadline is not None:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    return None
                wait_ms = max(1, min(wait_ms, int(left * 1000)))
            batches = await self._consumer.getmany(timeout_ms=wait_ms)
            for records in batches.values():
                self._buffer.extend(records)

    def __aiter__(self) -> AsyncIterator[StanceChange]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StanceChange]:
        while True:
            change = await self.next_change()
            if change is not None:
                yield change

    async def run(
        self,
        handler: Callable[[StanceChange], Awaitable[None] | None],
        stop_when: Callable[[], bool] = lambda: False,
    ) -> None:
        """Call `handler` for each change; a change is done when it succeeds. An exception stops
        the run with the failed change uncommitted, so a restart hands it out again."""
        while not stop_when():
            change = await self.next_change(timeout=0.5)
            if change is None:
                continue
            try:
                outcome = handler(change)
                if outcome is not None:
                    await outcome
            except BaseException:
                self._pending.clear()  # not done: handed out again after a restart
                await self._commit_done()
                raise
        await self.commit()

    async def caught_up(self) -> bool:
        """Whether every assigned partition has been read to its end."""
        assert self._consumer is not None
        assignment = self._consumer.assignment()
        if not assignment or self._buffer:
            return False
        ends = await self._consumer.end_offsets(list(assignment))
        positions = [await self._consumer.position(partition) for partition in assignment]
        return all(position >= ends[p] for position, p in zip(positions, assignment, strict=True))


class SyncSubscriber:
    """A blocking form for scripts: `with SyncSubscriber(settings, ...) as s: s.take(10)`."""

    def __init__(self, settings: Settings, **options: object) -> None:
        self._loop = asyncio.new_event_loop()
        self._subscriber = Subscriber(settings, **options)  # type: ignore[arg-type]

    def __enter__(self) -> SyncSubscriber:
        self._loop.run_until_complete(self._subscriber.start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._loop.run_until_complete(self._subscriber.stop())
        finally:
            self._loop.close()

    def next(self, timeout: float | None = None) -> StanceChange | None:
        return self._loop.run_until_complete(self._subscriber.next_change(timeout))

    def take(self, count: int, timeout: float = 30) -> list[StanceChange]:
        """Up to `count` changes, waiting at most `timeout` seconds in all; commits them."""
        found: list[StanceChange] = []
        deadline = self._loop.time() + timeout
        while len(found) < count and (left := deadline - self._loop.time()) > 0:
            change = self.next(left)
            if change is not None:
                found.append(change)
        self._loop.run_until_complete(self._subscriber.commit())
        return found
