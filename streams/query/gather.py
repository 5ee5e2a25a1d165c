"""Answers that need every partition: each worker reads its own, one of them merges.

A worker asked for the matrix, an issue's stances or the state hash reads the
partitions it holds and asks every other worker of the group for theirs
(`/internal/...`, one answer per partition). It answers only when every
partition has exactly one answer: while one is recovering or has no worker
yet, the answer is a 503 with Retry-After, never a partial matrix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from schemas.stances import Stance
from streams.core.state_hash import combine
from streams.query import local
from streams.query.dependencies import QueryContext
from streams.query.paging import encode_cursor
from streams.query.peers import recovering

STANCES = TypeAdapter(list[Stance])
"""Dumps stored stances as the public shape (their bookkeeping fields left out)."""

Parts = dict[int, Any]
"""partition -> its JSON answer."""


async def gather(
    context: QueryContext,
    path: str,
    params: Mapping[str, str],
    read_local: Callable[[frozenset[int]], Awaitable[Parts]],
) -> Parts:
    """Every partition's answer: ours from `read_local`, the others' from their `path`."""
    held = context.stores.held()
    if held is None:
        raise recovering("this worker is still recovering its partitions from the changelogs")
    others = context.peers.others() if context.peers is not None else []
    peers = context.peers
    asked = [peers.ask(url, path, params) for url in others] if peers is not None else []
    mine, *theirs = await asyncio.gather(read_local(held), *asked)
    parts: Parts = dict(mine)
    for answer in theirs:
        for partition, part in answer["parts"].items():
            parts.setdefault(int(partition), part)
    missing = sorted(set(range(context.stores.partitions)) - parts.keys())
    if missing:
        raise recovering(f"partitions {missing} are recovering or have no worker yet")
    return parts


def matrix_params(after: str | None, limit: int, as_of: str | None, issue: str | None) -> dict[str, str]:
    found = {"limit": str(limit), "after": after, "as_of": as_of, "issue": issue}
    return {name: value for name, value in found.items() if value is not None}


async def local_matrix(
    context: QueryContext,
    held: frozenset[int],
    *,
    after: str | None,
    limit: int,
    moment: datetime | None,
    issue_id: str | None,
) -> Parts:
    """This worker's page of each partition it holds, as JSON."""
    parts: Parts = {}
    actors = tuple(context.registry.actors) if issue_id is not None and moment is None else None
    for partition in sorted(held):
        page = local.matrix_page(
            context.stores,
            partition,
            after=None if after is None else after.encode(),
            limit=limit,
            moment=moment,
            issue_id=issue_id,
            actors=actors,
        )
        parts[partition] = {"items": STANCES.dump_python(page.items, mode="json"), "more": page.more}
        await asyncio.sleep(0)
    return parts


def merge_matrix(parts: Parts, limit: int, *, as_of: bool) -> dict[str, Any]:
    """One page from every partition's page: the first `limit` in key order, and the cursor."""
    suffix = "|" if as_of else ""
    keyed = [
        (f"{item['actor_id']}|{item['issue_id']}{suffix}", item)
        for part in parts.values()
        for item in part["items"]
    ]
    keyed.sort(key=lambda pair: pair[0].encode())
    taken = keyed[:limit]
    more = len(keyed) > limit or any(part["more"] for part in parts.values())
    return {
        "items": [item for _, item in taken],
        "next": encode_cursor(taken[-1][0]) if more and taken else None,
    }


async def local_summaries(context: QueryContext, held: frozenset[int]) -> Parts:
    parts: Parts = {}
    for partition in sorted(held):
        try:
            summary = await local.summarise(context.stores, partition)
        except local.PartitionMoved as error:
            raise recovering(str(error)) from error
        parts[partition] = {
            "sha256": summary.sha256,
            "events": summary.events,
            "stances": summary.stances,
            "claims": summary.claims,
        }
    return parts


def merge_summaries(parts: Parts) -> dict[str, Any]:
    ordered = [parts[partition] for partition in sorted(parts)]
    return {
        "sha256": combine(part["sha256"] for part in ordered),
        "events": sum(part["events"] for part in ordered),
        "stances": sum(part["stances"] for part in ordered),
        "claims": sum(part["claims"] for part in ordered),
        "partitions": len(ordered),
    }
