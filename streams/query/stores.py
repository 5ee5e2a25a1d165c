"""Reading the fold's stores partition by partition: the worker's tables, or dicts in memory.

A query reads one partition's key range (an actor's claims) or walks the
partitions this worker serves; it never opens a partition the worker does not
hold. `TableStores` reads the faust tables (one RocksDB per partition, or
faust's memory store); `MemoryStores` reads dicts (a replay, unit tests).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Protocol

import faust
import rocksdict

from streams.core.stores import STORE_NAMES
from streams.kafka.partitioner import store_partition
from streams.worker.store import KeyPartitionedStore, successor

OFFSET_KEY = b"__faust\0offset__"
"""faust's own record in every partition DB: the changelog offset it has applied."""


class Stores(Protocol):
    partitions: int

    def held(self) -> frozenset[int] | None:
        """The partitions this process serves now; None while any of them is recovering."""

    def get(self, store: str, key: bytes) -> bytes | None: ...

    def get_many(self, store: str, partition: int, keys: list[bytes]) -> list[bytes | None]:
        """The values of `keys`, all of one partition, in their order (None where absent)."""

    def scan(
        self,
        store: str,
        partition: int,
        prefix: bytes = b"",
        after: bytes | None = None,
        limit: int | None = None,
    ) -> list[tuple[bytes, bytes]]:
        """Records of one partition under `prefix`, in key order, after `after`, at most `limit`."""


class MemoryStores:
    """Stores held whole in dicts, split by key into partitions as the topics split them."""

    def __init__(self, stores: Mapping[str, Mapping[bytes, bytes]], partitions: int) -> None:
        self.stores = stores
        self.partitions = partitions
        self.serving: frozenset[int] | None = frozenset(range(partitions))

    def held(self) -> frozenset[int] | None:
        return self.serving

    def get(self, store: str, key: bytes) -> bytes | None:
        return self.stores.get(store, {}).get(key)

    def get_many(self, store: str, partition: int, keys: list[bytes]) -> list[bytes | None]:
        mapping = self.stores.get(store, {})
        return [mapping.get(key) for key in keys]

    def scan(
        self,
        store: str,
        partition: int,
        prefix: bytes = b"",
        after: bytes | None = None,
        limit: int | None = None,
    ) -> list[tuple[bytes, bytes]]:
        return scan_mapping(
            self.stores.get(store, {}), store, partition, self.partitions, prefix, after, limit
        )


def scan_mapping(
    mapping: Mapping[bytes, bytes],
    store: str,
    partition: int,
    partitions: int,
    prefix: bytes,
    after: bytes | None,
    limit: int | None,
) -> list[tuple[bytes, bytes]]:
    """A partition's range of a dict: a filter and a sort (small deployments, tests)."""
    keys = sorted(
        key
        for key in mapping
        if key.startswith(prefix)
        and (after is None or key > after)
        and key != OFFSET_KEY
        and store_partition(store, key, partitions) == partition
    )
    return [(key, mapping[key]) for key in keys[:limit]]


class TableStores:
    """The worker's faust tables, read only in the partitions it holds as active and has recovered."""

    def __init__(self, app: faust.App, tables: Mapping[str, Any], partitions: int) -> None:
        self.app = app
        self.tables = tables
        self.partitions = partitions
        self.changelogs = [tables[name].changelog_topic.get_topic_name() for name in STORE_NAMES]
        """Named once: `held` runs on every request."""
        self._assignment: object = None
        self._served: frozenset[int] = frozenset()
        """The partitions of the assignment last seen, worked out once per assignment."""

    def held(self) -> frozenset[int] | None:
        tables: Any = self.app.tables  # faust's TableManager (its interface lacks `recovery`)
        if self.app.rebalancing or not tables.recovery.completed.is_set():
            return None
        assignment = self.app.assignor._assignment  # type: ignore[attr-defined]  # replaced on each assignment
        if assignment is not self._assignment:
            actives = self.app.assignor.assigned_actives()
            by_topic = {
                topic: {tp.partition for tp in actives if tp.topic == topic} for topic in self.changelogs
            }
            self._served = frozenset(set.intersection(*by_topic.values()))
            self._assignment = assignment
        return self._served

    def get(self, store: str, key: bytes) -> bytes | None:
        data = self.tables[store].data
        if isinstance(data, KeyPartitionedStore):
            value: bytes | None = data._db_for(key).get(key)
            return value
        found: bytes | None = data.get(key)
        return found

    def get_many(self, store: str, partition: int, keys: list[bytes]) -> list[bytes | None]:
        data = self.tables[store].data
        if isinstance(data, KeyPartitionedStore):
            found: list[bytes | None] = data._db_for_partition(partition).get(keys)  # one multi-get
            return found
        return [data.get(key) for key in keys]

    def scan(
        self,
        store: str,
        partition: int,
        prefix: bytes = b"",
        after: bytes | None = None,
        limit: int | None = None,
    ) -> list[tuple[bytes, bytes]]:
        data = self.tables[store].data
        if not isinstance(data, KeyPartitionedStore):
            return scan_mapping(data, store, partition, self.partitions, prefix, after, limit)
        db = data._db_for_partition(partition)
        start = prefix if after is None or after < prefix else after
        read = None
        if prefix:
            read = _bounded(successor(prefix))
        pairs = db.items(from_key=start, read_opt=read) if read is not None else db.items(from_key=start)
        found = []
        for key, value in itertools.islice(_visible(pairs, after), limit):
            found.append((bytes(key), bytes(value)))
        return found


def _visible(pairs: Any, after: bytes | None) -> Any:
    for key, value in pairs:
        if key == OFFSET_KEY or (after is not None and key == after):
            continue
        yield key, value


def _bounded(upper: bytes) -> rocksdict.ReadOptions:
    read = rocksdict.ReadOptions()
    read.set_iterate_upper_bound(upper)
    return read
