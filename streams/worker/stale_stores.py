"""Before a worker starts: drop each partition store that its changelog no longer backs.

A store remembers the offset of the last changelog record it holds. When the
changelog ends before that offset (its topic was deleted and made again, or
the broker's data was reset), faust stops recovery with a ConsistencyError
(faust-streaming#158) or keeps state the log no longer has. Such a store is
deleted here, and faust recovers the partition from the changelog as for a
new worker. A store whose offset the changelog still holds is kept: the
worker then reads only the changelog's tail.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from aiokafka import TopicPartition

from streams.kafka import connection
from streams.kafka.metadata import topic_partitions
from streams.settings import Settings
from streams.worker.store import TunedOptions

logger = logging.getLogger(__name__)

OFFSET_KEY = b"__faust\0offset__"
"""Where faust's RocksDB store keeps the offset of the last changelog record it applied."""

STORE_NAME = re.compile(r"^(?P<table>.+)-(?P<partition>\d+)\.db$")


@dataclass(frozen=True)
class StoreOnDisk:
    path: Path
    table: str
    partition: int
    persisted: int | None


def stores_on_disk(tabledir: Path, cache_bytes: int) -> list[StoreOnDisk]:
    """Every partition store in `tabledir` with the changelog offset it holds (opened read-only)."""
    found = []
    for path in sorted(tabledir.glob("*.db")):
        match = STORE_NAME.match(path.name)
        if match is None or not path.is_dir():
            continue
        db = TunedOptions(cache_bytes).open(path, read_only=True)
        try:
            raw = db.get(OFFSET_KEY)
        finally:
            db.close()
        persisted = None if raw is None else int(raw)
        found.append(StoreOnDisk(path, match["table"], int(match["partition"]), persisted))
    return found


def stale(store: StoreOnDisk, changelog_end: int | None) -> bool:
    """True when the changelog cannot back the store: gone, or ending at or before its offset."""
    if store.persisted is None:
        return False  # nothing recorded: faust reads the whole changelog into it
    return changelog_end is None or store.persisted >= changelog_end


async def discard_stale_stores(settings: Settings, tabledir: Path) -> list[Path]:
    """Delete the stores the changelog no longer backs; return their paths."""
    stores = stores_on_disk(tabledir, settings.rocksdb_cache_mib * 1024 * 1024) if tabledir.is_dir() else []
    if not stores:
        return []
    consumer = connection.consumer(settings, enable_auto_commit=False)
    await connection.start_or_close(consumer)
    try:
        ends: dict[tuple[str, int], int] = {}
        for table in {store.table for store in stores}:
            topic = settings.topics.changelog(table)
            partitions = await topic_partitions(consumer, topic)
            if partitions:
                offsets = await consumer.end_offsets(partitions)
                ends.update({(table, tp.partition): end for tp, end in offsets.items()})
    finally:
        await consumer.stop()
    removed = []
    for store in stores:
        end = ends.get((store.table, store.partition))
        if stale(store, end):
            logger.warning(
                "store %s holds changelog offset %s but %s ends at %s: deleted, to be recovered",
                store.path.name,
                store.persisted,
                TopicPartition(settings.topics.changelog(store.table), store.partition),
                end,
            )
            shutil.rmtree(store.path)
            removed.append(store.path)
    return removed
