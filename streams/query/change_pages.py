"""The pure parts of paging the stance-change topic: cursors, per-partition runs and their merge.

A page is read from the topic itself, so its cursor is a position in the log (an offset per
partition), not a place in some copy: a page never repeats nor skips a record of the page
before it, however many changes arrive in between. No I/O here (see `change_reader`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException

from schemas.stances import StanceChange
from streams.query.paging import decode_cursor, encode_cursor

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SEEK_MARGIN_MS = 5 * 60 * 1000
"""How much earlier than `since` a seek by time starts. A change's record is sent after its
`detected_at` is taken, by the same process (the worker, or `timeline rebuild --write
--with-changes`), so its timestamp is not earlier; the margin covers a clock stepped back or a
producer on another host. What the margin lets in before `since` is filtered by `detected_at`."""


class BadCursor(ValueError):
    """A cursor (or Last-Event-ID) that is not a position in this change topic."""


def as_utc(moment: datetime) -> datetime:
    """A naive instant is UTC, as everywhere in the API."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def seek_ms(since: datetime) -> int:
    """The record timestamp a seek for changes detected at or after `since` starts from.

    Computed by subtraction, not `.timestamp()`: `0001-01-01T00:00+01:00` lies before
    datetime's range in UTC and must mean "from the beginning", not an error.
    """
    return max(0, (as_utc(since) - EPOCH) // timedelta(milliseconds=1) - SEEK_MARGIN_MS)


@dataclass(frozen=True)
class ChangeCursor:
    """Where a page starts: an offset per partition, and the `since` filter of the first page."""

    offsets: Mapping[int, int]
    since: datetime | None = None

    def encode(self) -> str:
        document = {str(p): o for p, o in sorted(self.offsets.items())}
        return encode_cursor({"o": document, "s": None if self.since is None else self.since.isoformat()})

    @classmethod
    def decode(cls, text: str) -> ChangeCursor:
        """The cursor `encode` made; `BadCursor` for anything else (another list's cursor too)."""
        try:
            document: Any = decode_cursor(text)
        except HTTPException as error:
            raise BadCursor(str(error.detail)) from None
        if not isinstance(document, dict) or not isinstance(document.get("o"), dict):
            raise BadCursor("cursor: not a cursor of /changes")
        offsets: dict[int, int] = {}
        for key, offset in document["o"].items():
            if not (isinstance(key, str) and key.isdigit()) or type(offset) is not int or offset < 0:
                raise BadCursor("cursor: not a cursor of /changes")
            offsets[int(key)] = offset
        since = document.get("s")
        if since is None:
            return cls(offsets)
        try:
            return cls(offsets, as_utc(datetime.fromisoformat(since)))
        except (TypeError, ValueError):
            raise BadCursor("cursor: not a cursor of /changes") from None


@dataclass(frozen=True)
class Kept:
    """A valid, wanted change read from a partition, at its offset."""

    change: StanceChange
    offset: int


@dataclass(frozen=True)
class Taken:
    """A change a page hands out, and where its partition resumes after it."""

    change: StanceChange
    partition: int
    next_offset: int


def resume_points(run: list[Kept], stop: int) -> list[int]:
    """For each kept change of a partition, where the partition resumes after it: the next kept
    change's offset (what lies between was skipped), and `stop` (past all that was read) after
    the last. So skipped records are never read again at a page boundary."""
    return [kept.offset for kept in run[1:]] + ([stop] if run else [])


def merge(
    runs: Mapping[int, list[Kept]], start: Mapping[int, int], stops: Mapping[int, int], limit: int
) -> tuple[list[Taken], dict[int, int]]:
    """Merge the partitions' runs by (detected_at, change_id) and take the first `limit`.

    Each run is taken in offset order (a heap over the runs' heads), so what a page takes of a
    partition is always a prefix of it: the cursor after it can then be one offset per partition,
    with no gap, even where detection times are out of order within a partition. A change_id
    seen twice is handed out once (delivery is at least once) but its offsets are passed.
    Returns the taken changes and the position after them (a partition with nothing kept, only
    skipped records, moves past them; a partition not read keeps its start).
    """
    resume = {p: resume_points(run, stops[p]) for p, run in runs.items()}
    position = dict(start)
    for p, run in runs.items():
        if not run:
            position[p] = stops[p]
    heads = [(run[0].change.detected_at, run[0].change.change_id, p, 0) for p, run in runs.items() if run]
    heapq.heapify(heads)
    taken: list[Taken] = []
    seen: set[str] = set()

    def advance(p: int, index: int) -> None:
        position[p] = resume[p][index]
        if index + 1 < len(runs[p]):
            following = runs[p][index + 1].change
            heapq.heappush(heads, (following.detected_at, following.change_id, p, index + 1))

    while heads and len(taken) < limit:
        _, change_id, p, index = heapq.heappop(heads)
        advance(p, index)
        if change_id not in seen:
            seen.add(change_id)
            taken.append(Taken(runs[p][index].change, p, resume[p][index]))
    while heads and heads[0][1] in seen:  # a copy right after the last taken change: pass it too
        _, _, p, index = heapq.heappop(heads)
        advance(p, index)
    return taken, position


@dataclass
class ChangePage:
    """One page: the changes taken, where it started and where the next page starts."""

    taken: list[Taken]
    start: dict[int, int]
    position: dict[int, int]
    ends: dict[int, int]
    since: datetime | None = None
    cut_short: bool = field(default=False)
    """The read stopped at its deadline before every partition was read to its end or limit."""

    @property
    def items(self) -> list[StanceChange]:
        return [taken.change for taken in self.taken]

    @property
    def at_end(self) -> bool:
        """Every partition is read to the end offset it had when the page was asked for."""
        return all(self.position.get(p, 0) >= end for p, end in self.ends.items())

    @property
    def cursor(self) -> ChangeCursor:
        """Where the page after this one starts (also at the end, for a follower)."""
        return ChangeCursor(dict(self.position), self.since)

    @property
    def next(self) -> str | None:
        """The `next` of the API's page: None once every partition reached its end offset."""
        return None if self.at_end else self.cursor.encode()

    def with_cursors(self) -> Iterator[tuple[StanceChange, ChangeCursor]]:
        """Each change with the cursor right after it, for a stream's `id:`."""
        position = dict(self.start)
        for taken in self.taken:
            position[taken.partition] = taken.next_offset
            yield taken.change, ChangeCursor(dict(position), self.since)


def start_offsets(
    cursor: Mapping[int, int], beginnings: Mapping[int, int], ends: Mapping[int, int]
) -> dict[int, int]:
    """Where each partition starts for a cursor, kept within what the log holds now: a partition
    the cursor does not name (the topic grew) from its beginning, an offset retention has
    deleted from the first one left. A cursor naming partitions the topic lacks is not ours."""
    unknown = sorted(set(cursor) - set(ends))
    if unknown:
        raise BadCursor(f"cursor: names partition {unknown[0]}, which the change topic does not have")
    return {p: min(max(cursor.get(p, beginnings[p]), beginnings[p]), ends[p]) for p in ends}
