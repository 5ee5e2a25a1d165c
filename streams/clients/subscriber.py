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

A record that is not a valid stance change is skipped with one warning line
and counted in `skipped`: one bad record must not stop every consumer for
good. On a rebalance the subscriber commits what is done on the partitions
it loses and forgets their buffered records, so it never commits a
partition it no longer holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from datetime import datetime
from typing import Literal

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata
from pydantic import ValidationError

from schemas.stances import StanceChange
from schemas.subscriptions import ChangeFilter
from streams.kafka import connection
from streams.settings import Settings

StartPoint = Literal["latest", "earliest"] | datetime

logger = logging.getLogger(__name__)


class RecentIds:
    """The last `size` ids seen, oldest forgotten first: a change re-sent after a crash is
    dropped by its change_id (delivery is at least once) without remembering every id."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen (among the last `size`), False after."""
        if key in self._ids:
            return False
        self._ids[key] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True


class PoisonChange(ValueError):
    """A record on the change topic that is not a stance change; the message says why in a few words."""


def poison_reason(error: Exception) -> str:
    """Why a record was refused, in a few words: pydantic's first error and how many more."""
    if not isinstance(error, ValidationError):
        return str(error) or type(error).__name__
    errors = error.errors(include_url=False, include_input=False)
    first, more = errors[0], len(errors) - 1
    where = ".".join(str(part) for part in first["loc"])
    if first["type"] == "json_invalid":
        text = "not JSON"
    elif first["type"] == "model_type":
        text = "not a JSON object"
    elif first["type"] == "missing":
        text = f"missing {where}"
    else:
        text = f"{where}: {first['msg']}" if where else first["msg"]
    return f"{text} (and {more} more error{'s' if more > 1 else ''})" if more else text


def parse_change(value: bytes) -> StanceChange:
    """The record's stance change; `PoisonChange` with a short reason when it is not one."""
    try:
        return StanceChange.model_validate_json(value)
    except ValidationError as error:
        raise PoisonChange(poison_reason(error)) from None


def warn_skipped(log: logging.Logger, reader: str, record: ConsumerRecord[bytes, bytes], reason: str) -> None:
    """The one line (no traceback) logged for a skipped record: where it is and why."""
    log.warning(
        "%s: skipped a bad record on %s partition %d offset %d: %s",
        reader,
        record.topic,
        record.partition,
        record.offset,
        reason,
    )


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Settles a subscriber's partitions on a rebalance; with a moment, partitions with no
    committed offset start at that point in time."""

    def __init__(self, subscriber: Subscriber, consumer: AIOKafkaConsumer, moment: datetime | None) -> None:
        self.subscriber = subscriber
        self.consumer = consumer
        self.moment_ms = None if moment is None else int(moment.timestamp() * 1000)

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.subscriber._revoke(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if self.moment_ms is None:
            return
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
        self._seen = RecentIds(remember)
        self._consumer: AIOKafkaConsumer | None = None
        self._pending: dict[TopicPartition, int] = {}
        """Offsets past records handed out (or skipped) by the current `next_change` call."""
        self._done: dict[TopicPartition, int] = {}
        """Offsets past records the caller is finished with, not committed yet."""
        self._last_commit = 0.0
        self.commit_interval = 1.0
        self._buffer: deque[ConsumerRecord[bytes, bytes]] = deque()
        self.skipped = 0
        """Records that were not a valid stance change: logged, skipped and committed past."""

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
        moment = self.start_point if isinstance(self.start_point, datetime) else None
        self._consumer = consumer
        consumer.subscribe([self.topic], listener=_Rebalance(self, consumer, moment))

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

    async def commit(self) -> None:
        """Commit everything handed out so far (a no-op without a group)."""
        self._finish_pending()
        await self._commit_done()

    def _finish_pending(self) -> None:
        self._done.update(self._pending)
        self._pending.clear()

    async def _commit_done(self, only: Collection[TopicPartition] | None = None) -> None:
        """Commit the done offsets (of `only`, if given) of partitions still assigned; aiokafka
        refuses any other, and their new owner reads them again anyway."""
        if self._consumer is None or self.group_id is None or not self._done:
            self._done.clear()
            return
        assigned = self._consumer.assignment()
        for partition in self._done.keys() - assigned:
            del self._done[partition]
        chosen = {p: offset for p, offset in self._done.items() if only is None or p in only}
        if not chosen:
            return
        try:
            await self._consumer.commit({p: OffsetAndMetadata(offset, "") for p, offset in chosen.items()})
        except CommitFailedError:
            logger.warning("subscriber: the group rebalanced before a commit; those changes come again")
        for partition, offset in chosen.items():
            if self._done.get(partition) == offset:  # not moved on while the commit was under way
                del self._done[partition]
        self._last_commit = asyncio.get_running_loop().time()

    async def _revoke(self, revoked: Collection[TopicPartition]) -> None:
        """Before a rebalance: commit what is done on the partitions going away, then forget them."""
        try:
            await self._commit_done(only=revoked)
        finally:
            self._forget(revoked)

    def _forget(self, partitions: Collection[TopicPartition]) -> None:
        """Drop the buffered records and the offsets of partitions this subscriber gives up."""
        gone = set(partitions)
        self._buffer = deque(r for r in self._buffer if TopicPartition(r.topic, r.partition) not in gone)
        for offsets in (self._pending, self._done):
            for partition in gone & offsets.keys():
                del offsets[partition]

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
                try:
                    change = parse_change(record.value)
                except PoisonChange as error:
                    self.skipped += 1
                    warn_skipped(logger, "subscriber", record, str(error))
                    continue
                if self.filters.matches(change) and self._seen.first_time(change.change_id):
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

    @property
    def skipped(self) -> int:
        """Records skipped as not a valid stance change (see `Subscriber.skipped`)."""
        return self._subscriber.skipped

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
