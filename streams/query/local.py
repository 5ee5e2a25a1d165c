"""Queries answered from this worker's own partitions of the stores.

One actor's stances, claims and history read that actor's key range in one
partition (a prefix scan); the matrix and an issue's stances walk the
partitions held, a page at a time, in key order, so that pages from several
workers merge into one. Nothing here knows about HTTP or other workers.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from schemas.stances import Stance
from streams.core.fold import as_of, order_key
from streams.core.records import EventRecord, StoredStance, WithdrawnStance, is_withdrawn, parse_stored
from streams.core.state_hash import PartitionHasher
from streams.core.stores import CURRENT, EVENTS, HISTORY, STORE_NAMES
from streams.kafka.partitioner import partition_of
from streams.query.stores import Stores

CHUNK = 2048
"""Records read from a store at a time; a long walk yields to the event loop between chunks."""


class PartitionMoved(RuntimeError):
    """A partition this worker was reading was revoked or began recovering meanwhile."""


def actor_prefix(actor_id: str, issue_id: str | None = None) -> bytes:
    return f"{actor_id}|".encode() if issue_id is None else f"{actor_id}|{issue_id}|".encode()


def actor_partition(stores: Stores, actor_id: str) -> int:
    return partition_of(actor_id.encode(), stores.partitions)


def actor_stances(stores: Stores, actor_id: str, moment: datetime | None = None) -> list[Stance]:
    """An actor's current stances, or as of a moment (event time), by issue."""
    partition = actor_partition(stores, actor_id)
    if moment is None:
        return [parse_stored(raw) for _, raw in stores.scan(CURRENT, partition, actor_prefix(actor_id))]
    by_issue: dict[str, list[Stance]] = {}
    for claim in actor_claims(stores, actor_id):
        by_issue.setdefault(claim.issue_id, []).append(claim)
    found = [stance for claims in by_issue.values() if (stance := as_of(claims, moment)) is not None]
    return sorted(found, key=lambda stance: stance.issue_id)


def actor_current_documents(stores: Stores, actor_id: str) -> list[dict[str, Any]]:
    """An actor's current stances as the API's JSON, by issue, without building a model each.

    The current table holds what the stance step encoded from a validated `Stance`, plus
    its bookkeeping fields: dropping those gives the very JSON the model would write, at
    a fraction of the cost of validating it again (a unit test holds the two equal).
    """
    found = []
    for _, raw in stores.scan(CURRENT, actor_partition(stores, actor_id), actor_prefix(actor_id)):
        document = orjson.loads(raw)
        for name in STORED_ONLY:
            document.pop(name, None)
        found.append(document)
    return found


STORED_ONLY = ("made_current", "replaced")
"""Fields a current record holds beyond the public `Stance` (`records.StoredStance`)."""

BOOKKEEPING = b',"made_current":'
"""Where a stored stance's bookkeeping begins: `encode_stored` appends it after the public
fields, and no JSON string can hold this byte sequence (its quote would be escaped)."""


def actor_current_page(stores: Stores, actor_id: str, limit: int) -> bytes | None:
    """The first page of an actor's current stances as the API's JSON bytes, when it is the
    only page (None otherwise): each record cut before its bookkeeping, nothing parsed.

    Keys `actor|issue` sort by issue, the page's order. The hottest query: building
    documents or models for it cost more than the HTTP request around it (docs/benchmarks.md).
    """
    records = stores.scan(CURRENT, actor_partition(stores, actor_id), actor_prefix(actor_id), limit=limit + 1)
    if len(records) > limit:
        return None
    parts = []
    for _, raw in records:
        cut = raw.rfind(BOOKKEEPING)
        if cut < 0:  # not a stored stance as encode_stored writes it: the slow path
            return None
        parts.append(raw[:cut] + b"}")
    return b'{"items":[' + b",".join(parts) + b'],"next":null}'


def actor_claims(
    stores: Stores, actor_id: str, issue_id: str | None = None, *, withdrawn: bool = False
) -> list[StoredStance]:
    """An actor's claims in event-time order; with `withdrawn`, the tombstones of retracted ones too."""
    records = stores.scan(HISTORY, actor_partition(stores, actor_id), actor_prefix(actor_id, issue_id))
    claims = [parse_stored(raw) for _, raw in records if withdrawn or not is_withdrawn(raw)]
    return sorted(claims, key=order_key)


def retracted_by(claim: StoredStance) -> str | None:
    return claim.withdrawn_by if isinstance(claim, WithdrawnStance) else None


def event_record(stores: Stores, event_id: str) -> EventRecord | None:
    raw = stores.get(EVENTS, event_id.encode())
    return None if raw is None else EventRecord.model_validate_json(raw)


def matrix_key(stance: Stance, *, as_of: bool = False) -> bytes:
    """Where a stance sits in a matrix page's order: the key of the store the page walks.

    The current table's key (`actor|issue`), or, as of a moment, the prefix of the pair's
    history keys (`actor|issue|`): the two sort differently when one issue id begins
    with another, and a cursor must follow the order its store is read in.
    """
    key = f"{stance.actor_id}|{stance.issue_id}"
    return (key + "|").encode() if as_of else key.encode()


@dataclass
class PartitionPage:
    """Up to `limit` stances of one partition after a key, and whether more follow."""

    items: list[Stance] = field(default_factory=list)
    more: bool = False


def matrix_page(
    stores: Stores,
    partition: int,
    *,
    after: bytes | None,
    limit: int,
    moment: datetime | None = None,
    issue_id: str | None = None,
    actors: tuple[str, ...] | None = None,
) -> PartitionPage:
    """One partition's stances (current, or as of `moment`), optionally of one issue, in key order.

    One issue's current stances, given the registered `actors` (ids are never deleted, so
    every actor with a stance is one), read one key per actor of the partition, not the table.
    """
    if moment is None and issue_id is not None and actors is not None:
        return _issue_page(stores, partition, after, limit, issue_id, actors)
    if moment is None:
        return _current_page(stores, partition, after, limit, issue_id)
    return _as_of_page(stores, partition, after, limit, moment, issue_id)


def _issue_page(
    stores: Stores, partition: int, after: bytes | None, limit: int, issue_id: str, actors: tuple[str, ...]
) -> PartitionPage:
    suffix = f"|{issue_id}".encode()
    keys = sorted(actor + suffix for actor in actors_of_partition(actors, stores.partitions)[partition])
    if after is not None:
        keys = keys[bisect.bisect_right(keys, after) :]
    page = PartitionPage()
    for start in range(0, len(keys), GETS):
        for raw in stores.get_many(CURRENT, partition, keys[start : start + GETS]):
            if raw is None:
                continue
            if len(page.items) == limit:
                page.more = True
                return page
            page.items.append(parse_stored(raw))
    return page


GETS = 256
"""Keys read in one multi-get: about a page and a half of a dense issue."""


@functools.lru_cache(maxsize=4)
def actors_of_partition(actors: tuple[str, ...], partitions: int) -> dict[int, list[bytes]]:
    """Each partition's actors (as bytes), worked out once per registry."""
    found: dict[int, list[bytes]] = {partition: [] for partition in range(partitions)}
    for actor in actors:
        encoded = actor.encode()
        found[partition_of(encoded, partitions)].append(encoded)
    return found


def _current_page(
    stores: Stores, partition: int, after: bytes | None, limit: int, issue_id: str | None
) -> PartitionPage:
    page = PartitionPage()
    wanted = None if issue_id is None else f"|{issue_id}".encode()
    for key, raw in _walk(stores, CURRENT, partition, after):
        if wanted is not None and not key.endswith(wanted):
            continue
        if len(page.items) == limit:
            page.more = True
            break
        page.items.append(parse_stored(raw))
    return page


def _as_of_page(
    stores: Stores, partition: int, after: bytes | None, limit: int, moment: datetime, issue_id: str | None
) -> PartitionPage:
    """Claims are grouped by their `actor|issue` prefix (history keys sort by it)."""
    page = PartitionPage()
    start = None if after is None else after + b"\xff"  # past every claim of the `after` pair
    group: bytes | None = None
    claims: list[Stance] = []

    def flush() -> None:
        stance = as_of(claims, moment) if claims else None
        if stance is not None:
            page.items.append(stance)

    for key, raw in _walk(stores, HISTORY, partition, start):
        actor, issue, _ = key.split(b"|", 2)
        if issue_id is not None and issue.decode() != issue_id:
            continue
        pair = actor + b"|" + issue
        if pair != group:
            flush()
            group, claims = pair, []
            if len(page.items) >= limit:
                page.more = True
                break
        if not is_withdrawn(raw):
            claims.append(parse_stored(raw))
    else:
        flush()
    if len(page.items) > limit:
        page.items, page.more = page.items[:limit], True
    return page


def _walk(stores: Stores, store: str, partition: int, after: bytes | None) -> Iterator[tuple[bytes, bytes]]:
    """Every record of one partition after `after`, read a chunk at a time."""
    while True:
        chunk = stores.scan(store, partition, after=after, limit=CHUNK)
        yield from chunk
        if len(chunk) < CHUNK:
            return
        after = chunk[-1][0]


@dataclass
class PartitionSummary:
    """One partition's hash and how many events, current stances and live claims it holds."""

    partition: int
    sha256: str
    events: int
    stances: int
    claims: int


async def summarise(stores: Stores, partition: int) -> PartitionSummary:
    """Hash one partition, yielding to the event loop between chunks (agents share the loop)."""
    hasher = PartitionHasher()
    for name in STORE_NAMES:
        after: bytes | None = None
        while True:
            held = stores.held()
            if held is None or partition not in held:
                raise PartitionMoved(f"partition {partition} moved while it was being hashed")
            chunk = stores.scan(name, partition, after=after, limit=CHUNK)
            for key, value in chunk:
                hasher.add(name, key, value)
            if len(chunk) < CHUNK:
                break
            after = chunk[-1][0]
            await asyncio.sleep(0)
    counts = hasher.counts
    return PartitionSummary(partition, hasher.hexdigest(), counts[EVENTS], counts[CURRENT], counts[HISTORY])
