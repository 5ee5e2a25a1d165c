"""The tables' RocksDB store: one DB per partition, the partition taken from the key.

faust's own rocksdb store picks a DB from the current event's partition, or
searches every DB outside an event. Here a key's partition is murmur2 of its
routing part (the whole event_id, or the actor of `actor|issue[|event]`) mod
the partition count, as Kafka's default partitioner places the records of
the topics these tables are fed from, so a read finds the DB a write used,
inside an event or not. Every DB shares one block cache and has small
memtables, bloom filters and LZ4 (figures: docs/benchmarks.md).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import rocksdict
from faust.stores import rocksdb as faust_rocksdb
from faust.types import TP

from streams.kafka.partitioner import KeyRoute, partition_of

MEMTABLE_BYTES = 4 * 1024 * 1024
MEMTABLES = 2
MAX_OPEN_FILES = 256
"""Per DB; faust's default is 90% of the process's file limit for each of them."""


@functools.lru_cache(maxsize=8)
def shared_cache(size_bytes: int) -> rocksdict.Cache:
    """One LRU block cache per process and size, shared by every table's every partition DB."""
    return rocksdict.Cache(size_bytes)


class TunedOptions(faust_rocksdb.RocksDBOptions):
    """faust's options with one shared cache, small memtables, bloom filters and LZ4.

    Index and filter blocks are not charged to the cache: that made gets a
    hundred times slower in the measurement behind the issue.
    """

    def __init__(self, cache_bytes: int) -> None:
        super().__init__(use_rocksdict=True)
        self.cache_bytes = cache_bytes

    def as_options(self) -> rocksdict.Options:
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_max_open_files(MAX_OPEN_FILES)
        options.set_write_buffer_size(MEMTABLE_BYTES)
        options.set_max_write_buffer_number(MEMTABLES)
        options.set_compression_type(rocksdict.DBCompressionType.lz4())
        table = rocksdict.BlockBasedOptions()
        table.set_block_cache(shared_cache(self.cache_bytes))
        table.set_bloom_filter(10, False)
        options.set_block_based_table_factory(table)
        return options

    def open(self, path: Path, *, read_only: bool = False) -> rocksdict.Rdict:
        access = rocksdict.AccessType.read_only() if read_only else rocksdict.AccessType.read_write()
        db: rocksdict.Rdict = rocksdict.Rdict(str(path), options=self.as_options(), access_type=access)
        return db


class KeyPartitionedStore(faust_rocksdb.Store):
    """faust's RocksDB store (rocksdict) whose partition for a key comes from the key itself."""

    def __init__(
        self,
        url: str,
        app: Any,
        table: Any,
        *,
        route: KeyRoute,
        partitions: int,
        cache_bytes: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(url, app, table, driver="rocksdict", **kwargs)
        self.route = route
        self.partitions = partitions
        self.rocksdb_options = TunedOptions(cache_bytes)

    def partition_for(self, key: bytes) -> int:
        return partition_of(self.route(key), self.partitions)

    def _db_for(self, key: bytes) -> rocksdict.Rdict:
        db: rocksdict.Rdict = self._db_for_partition(self.partition_for(key))
        return db

    def _set(self, key: bytes, value: bytes | None) -> None:
        self._db_for(key).put(key, value)

    def _get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db_for(key).get(key)
        return value

    def _del(self, key: bytes) -> None:
        self._db_for(key).delete(key)

    def _contains(self, key: bytes) -> bool:
        return self._db_for(key).get(key) is not None

    def scan_prefix(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """The (key, value) pairs under `prefix`, in key order, read from the one DB that holds them.

        A list, not an iterator: a live rocksdict iterator keeps its DB (and its
        lock) open after faust lets the DB go.
        """
        read = rocksdict.ReadOptions()
        read.set_iterate_upper_bound(successor(prefix))
        pairs = self._db_for(prefix).items(from_key=prefix, read_opt=read)
        return [(bytes(key), bytes(value)) for key, value in pairs]  # type: ignore[arg-type]

    def written_to_changelog(self, tp: TP, offset: int) -> None:
        """A changelog record of this store reached Kafka at `offset`: persist it (never backwards).

        Only for a partition whose DB is open: one revoked meanwhile is not reopened for it.
        """
        db = self._dbs.get(tp.partition)
        if db is None:
            return
        known = db.get(self.offset_key)
        if known is None or int(known) < offset:
            db.put(self.offset_key, str(offset).encode())

    def revoke_partitions(self, table: Any, tps: set[TP]) -> None:
        """Close the DBs of revoked partitions (faust leaves that to the garbage collector)."""
        for tp in tps:
            if tp.topic in table.changelog_topic.topics:
                db = self._dbs.pop(tp.partition, None)
                if db is not None:
                    db.close()


def successor(prefix: bytes) -> bytes:
    """The smallest key greater than every key that starts with `prefix`."""
    following = bytearray(prefix)
    while following and following[-1] == 0xFF:
        following.pop()
    if not following:
        raise ValueError("a prefix of only 0xff bytes has no upper bound")
    following[-1] += 1
    return bytes(following)
