"""A SHA-256 of the canonical state, to compare a replay with the live workers.

The hash is a hash of per-partition hashes, so that workers holding different
partitions can each hash their own and any one of them combine the parts into
the same answer a replay in one process gives (docs/semantics.md, "Replay is exact").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import orjson

from streams.core.records import is_withdrawn
from streams.core.stores import EVENTS, HISTORY, STORE_NAMES
from streams.kafka.partitioner import store_partition

BOOKKEEPING = ("made_current", "replaced", "was_current")
"""Fields of a stored stance that record the order claims arrived in (for re-sending a
change after a crash), not the state: a replay in another order differs there only."""


def canonical(name: str, value: bytes) -> bytes:
    if name == EVENTS:
        return value
    document = orjson.loads(value)
    for field in BOOKKEEPING:
        document.pop(field, None)
    return orjson.dumps(document)


class PartitionHasher:
    """Hashes one partition's (store, key, value) records, fed in key order per store.

    Tombstones of withdrawn claims are left out: they keep a withdrawal safe from a crash,
    and whether one exists depends on the order a claim and its retraction arrived in.
    """

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self.counts = dict.fromkeys(STORE_NAMES, 0)
        """Records hashed per store (claims only, for the history)."""

    def add(self, name: str, key: bytes, value: bytes) -> None:
        if name == HISTORY and is_withdrawn(value):
            return
        self.counts[name] += 1
        for part in (name.encode(), key, canonical(name, value)):
            self._digest.update(len(part).to_bytes(8, "big"))
            self._digest.update(part)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def combine(partition_hashes: Iterable[str]) -> str:
    """The state's hash from every partition's hash, in partition order."""
    digest = hashlib.sha256()
    for part in partition_hashes:
        digest.update(bytes.fromhex(part))
    return digest.hexdigest()


def partition_hashes(stores: Mapping[str, Mapping[bytes, bytes]], partitions: int) -> list[str]:
    """Each partition's hash of stores held whole in memory (a replay, a store read back)."""
    hashers = [PartitionHasher() for _ in range(partitions)]
    for name in STORE_NAMES:
        store = stores.get(name, {})
        for key in sorted(store):
            hashers[store_partition(name, key, partitions)].add(name, key, store[key])
    return [hasher.hexdigest() for hasher in hashers]


def state_hash(stores: Mapping[str, Mapping[bytes, bytes]], partitions: int) -> str:
    """Equal state gives an equal hash, whichever process holds which partition."""
    return combine(partition_hashes(stores, partitions))
