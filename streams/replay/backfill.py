"""`timeline rebuild --write`: fold the log in batches and write the state where workers recover from.

Folding a long history through the live agents costs faust's machinery per
event. A backfill folds it with the batch path (`rebuild_state`), writes
each store's records to its changelog topic at the partition the worker's
table would use, and commits the workers' consumer group at the log's end.
A worker started afterwards recovers the state from the changelogs and goes
on from there, instead of folding the history again.

It is for a fresh deployment (publish or import the events, backfill, start
the workers): it refuses changelogs that already hold state and a group that
has members or committed offsets. The stance changes of the history are not
sent unless asked (`with_changes`), so subscribers and digests are not
flooded with years of changes by surprise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from aiokafka import TopicPartition
from aiokafka.admin import NewTopic
from aiokafka.errors import CoordinatorLoadInProgressError, GroupCoordinatorNotAvailableError

from schemas.registry_log import RegistryView
from streams.core.records import encode
from streams.core.stores import STORE_NAMES
from streams.kafka import connection
from streams.kafka.metadata import partitions_by_topic
from streams.kafka.partitioner import partition_of, store_partition
from streams.replay.rebuild import RebuildResult, rebuild_state
from streams.settings import Settings

T = TypeVar("T")
SEND_WINDOW = 20_000
"""Records in flight before the backfill waits for their acknowledgements."""


class BackfillRefused(RuntimeError):
    """The backfill would mix its state with state already there; the message says what to do."""


@dataclass
class BackfillResult:
    rebuild: RebuildResult
    written: dict[str, int] = field(default_factory=dict)
    """changelog topic -> records written."""
    committed: dict[str, int] = field(default_factory=dict)
    """topic -> the offset committed for the workers' group, summed over partitions."""
    changes_sent: int = 0
    seconds: float = 0.0


async def check_fresh(settings: Settings) -> None:
    """Refuse when the changelogs hold records or the workers' group has members or offsets."""
    changelogs = [settings.topics.changelog(store) for store in STORE_NAMES]
    consumer = connection.consumer(settings, enable_auto_commit=False)
    await connection.start_or_close(consumer)
    try:
        found = await partitions_by_topic(consumer, changelogs)
        for topic, partitions in found.items():
            if partitions and sum((await consumer.end_offsets(partitions)).values()) > 0:
                raise BackfillRefused(
                    f"{topic} already holds state: a backfill is for a fresh deployment"
                    " (use a new TIMELINE_TOPIC_PREFIX, or delete the changelog topics first)"
                )
    finally:
        await consumer.stop()
    admin = connection.admin(settings, request_timeout_ms=30000)
    await connection.start_or_close(admin)
    try:
        groups = await _coordinated(lambda: admin.describe_consumer_groups([settings.app_id]))
        members = [m for group in groups for described in group.groups for m in described[5]]
        if members:
            raise BackfillRefused(f"{len(members)} worker(s) run in group {settings.app_id}: stop them first")
        offsets = await _coordinated(lambda: admin.list_consumer_group_offsets(settings.app_id))
        if any(meta.offset >= 0 for meta in offsets.values()):
            raise BackfillRefused(
                f"group {settings.app_id} has committed offsets: workers have processed this log already"
            )
    finally:
        await admin.close()


async def _coordinated(call: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    """A group request, asked again while the broker is still electing the group coordinator
    (the offsets topic is made on a broker's first group request)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await call()
        except (GroupCoordinatorNotAvailableError, CoordinatorLoadInProgressError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def ensure_changelogs(settings: Settings) -> None:
    """Make the compacted changelog topics faust would make, with the project's partition count."""
    admin = connection.admin(settings, request_timeout_ms=30000)
    await connection.start_or_close(admin)
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=name,
                num_partitions=settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs={"cleanup.policy": "compact"},
            )
            for name in (settings.topics.changelog(store) for store in STORE_NAMES)
            if name not in existing
        ]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()


async def backfill(
    settings: Settings,
    registry: RegistryView | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    processes: int | None = None,
    with_changes: bool = False,
) -> BackfillResult:
    """Rebuild the state from the log, write it to the changelogs, commit the group at the log's end."""
    started = time.perf_counter()
    await check_fresh(settings)
    rebuilt = await rebuild_state(settings, registry, on_progress, 1 if with_changes else processes)
    await ensure_changelogs(settings)
    result = BackfillResult(rebuilt.result)
    producer = connection.producer(
        settings, acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=512 * 1024
    )
    await connection.start_or_close(producer)
    try:
        pending = []
        for store in STORE_NAMES:
            topic = settings.topics.changelog(store)
            records = rebuilt.outcome.stores[store]
            for key, value in records.items():
                partition = store_partition(store, key, settings.partitions)
                pending.append(await producer.send(topic, value, key=key, partition=partition))
                if len(pending) >= SEND_WINDOW:
                    for sent in pending:
                        await sent
                    pending.clear()
            result.written[topic] = len(records)
        if with_changes:
            for change in rebuilt.changes:
                key = change.actor_id.encode()
                partition = partition_of(key, settings.partitions)
                pending.append(
                    await producer.send(
                        settings.topics.stance_changes, encode(change), key=key, partition=partition
                    )
                )
            result.changes_sent = len(rebuilt.changes)
        for sent in pending:
            await sent
    finally:
        await producer.stop()
    result.committed = await commit_group_at(settings, rebuilt.ends)
    result.seconds = time.perf_counter() - started
    return result


async def commit_group_at(settings: Settings, event_ends: dict[TopicPartition, int]) -> dict[str, int]:
    """Commit the workers' group: the event log where the backfill stopped reading, the
    internal topics at their ends (the backfill sent nothing there)."""
    consumer = connection.consumer(settings, group_id=settings.app_id, enable_auto_commit=False)
    await connection.start_or_close(consumer)
    try:
        internal = await partitions_by_topic(consumer, [settings.topics.claims, settings.topics.retractions])
        partitions = [tp for tps in internal.values() for tp in tps]
        offsets = {**(await consumer.end_offsets(partitions) if partitions else {}), **event_ends}
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()
    committed: dict[str, int] = {}
    for tp, offset in offsets.items():
        committed[tp.topic] = committed.get(tp.topic, 0) + offset
    return committed
