"""Which partition a key belongs to: Kafka's default partitioner, and each store's routing key.

The tables' stores (`streams/worker/store.py`) and the backfill that writes
their changelogs (`streams/replay/backfill.py`) must place every key where the
topics that feed the tables place it: murmur2 of the event_id, or of the actor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from aiokafka.partitioner import murmur2

from streams.core.stores import CURRENT, EVENTS, HISTORY

KeyRoute = Callable[[bytes], bytes]
"""The part of a table key that picks its partition."""


def whole_key(key: bytes) -> bytes:
    return key


def actor_of(key: bytes) -> bytes:
    """`actor|issue` and `actor|issue|event_id` are placed by their actor, as the claims topic is."""
    return key.split(b"|", 1)[0]


ROUTES: dict[str, KeyRoute] = {EVENTS: whole_key, CURRENT: actor_of, HISTORY: actor_of}
"""How each store's key picks its partition: as the topic its agent reads is keyed."""


@functools.lru_cache(maxsize=1 << 16)
def partition_of(routing_key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2, as the Java client and aiokafka place a keyed record)."""
    hashed: int = murmur2(routing_key)
    return (hashed & 0x7FFFFFFF) % partitions


def store_partition(store: str, key: bytes, partitions: int) -> int:
    return partition_of(ROUTES[store](key), partitions)
