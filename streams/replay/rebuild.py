"""`timeline rebuild`: replay the whole log in batches with aiokafka and the same pipeline.

Faust's per-event machinery is the slow part of the live path, so bulk work
reads `diplomacy.events` with `getmany` and folds in memory, the event step
here and the stance step in a second process (`streams.replay.staged`). The
result's SHA-256 must equal the live view's (docs/semantics.md, "Replay is exact").
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.registry_log import RegistryView
from schemas.stances import StanceChange
from streams.collector import fewer_collections
from streams.core.pipeline import CatchUp
from streams.core.records import live_claims
from streams.core.stores import CURRENT, HISTORY
from streams.kafka import connection
from streams.kafka.metadata import assign_all
from streams.registry.reader import RegistryReader
from streams.replay.memory import Outcome, Replay
from streams.replay.staged import StagedReplay
from streams.settings import Settings


@dataclass(frozen=True)
class RebuildResult:
    sha256: str
    events: int
    seconds: float
    dead_letters: int
    changes: int
    stances: int
    claims: int


@dataclass(frozen=True)
class Rebuilt:
    """A rebuild's summary, its state, where it stopped reading, and (in one process) its changes."""

    result: RebuildResult
    outcome: Outcome
    ends: dict[TopicPartition, int]
    changes: list[StanceChange]


async def rebuild(
    settings: Settings,
    registry: RegistryView | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    processes: int | None = None,
) -> RebuildResult:
    """Read the event log from offset 0 to its current end and fold it into fresh state.

    With two processes (the default on a machine with two cores or more) the
    stance step runs in a second process (`streams.replay.staged`); with one,
    everything runs here (`streams.replay.memory`). Both give the same state.
    The registry is the registry topic's (read first, and on to its end whenever an event
    names an id not yet read), unless one is given.
    """
    return (await rebuild_state(settings, registry, on_progress, processes)).result


async def rebuild_state(
    settings: Settings,
    registry: RegistryView | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    processes: int | None = None,
) -> Rebuilt:
    """`rebuild`, keeping the state it made (for `backfill`)."""
    if registry is not None:
        return await _rebuild_state(settings, registry, None, on_progress, processes)
    reader = RegistryReader(settings, wait=False)
    await reader.start(follow=False)
    try:
        return await _rebuild_state(settings, reader, reader.catch_up, on_progress, processes)
    finally:
        await reader.stop()


async def _rebuild_state(
    settings: Settings,
    registry: RegistryView,
    catch_up: CatchUp | None,
    on_progress: Callable[[int, int], None] | None,
    processes: int | None,
) -> Rebuilt:
    processes = processes if processes is not None else (2 if (os.cpu_count() or 1) >= 2 else 1)
    topic = settings.topics.events
    consumer = connection.consumer(
        settings,
        group_id=None,
        client_id=f"rebuild-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    replay: Replay | StagedReplay  # made first: the stance process starts before any socket opens
    if processes >= 2:
        replay = StagedReplay(
            registry,
            settings.score_change_threshold,
            max_event_bytes=settings.max_event_bytes,
            catch_up=catch_up,
        )
    else:
        replay = Replay(
            registry,
            settings.score_change_threshold,
            max_event_bytes=settings.max_event_bytes,
            catch_up=catch_up,
        )
    try:
        await consumer.start()
    except BaseException:
        replay.close()
        raise
    try:
        with fewer_collections():
            return await _replay(consumer, topic, settings, replay, on_progress)
    finally:
        replay.close()


async def _replay(
    consumer: AIOKafkaConsumer,
    topic: str,
    settings: Settings,
    replay: Replay | StagedReplay,
    on_progress: Callable[[int, int], None] | None,
) -> Rebuilt:
    started = time.perf_counter()
    count = 0
    try:
        partitions = await assign_all(consumer, topic, settings.bootstrap)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        total = sum(ends.values())
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=500, max_records=10000)
            for partition, records in batches.items():
                for record in records:
                    if record.offset >= ends[partition]:
                        continue
                    await replay.feed(record.key, record.value, record.timestamp)
                    count += 1
            for partition in list(remaining):
                if await consumer.position(partition) >= ends[partition]:
                    remaining.discard(partition)
            if on_progress is not None:
                on_progress(count, total)
    finally:
        await consumer.stop()
    outcome = replay.finish()
    result = RebuildResult(
        sha256=outcome.hash(settings.partitions),
        events=count,
        seconds=time.perf_counter() - started,
        dead_letters=len(outcome.dead_letters),
        changes=outcome.changes,
        stances=len(outcome.stores[CURRENT]),
        claims=live_claims(outcome.stores[HISTORY].values()),
    )
    changes = replay.changes if isinstance(replay, Replay) else []
    return Rebuilt(result, outcome, ends, changes)
