"""Which offset a faust worker may commit: faust's choice, with its off-by-one fixed.

faust-streaming 0.15 (`Consumer._new_offset`) takes the committed offset
(Kafka's "next offset to read") and the acked offsets, and commits past the
first run of consecutive acked offsets. Its check for a hole at the head
compares `min(acked) - committed > 1`, so with the record at `committed` not
acked yet and the one after it acked, it commits past a record no agent has
processed. A worker killed and restarted at that moment never reads it
again: `make soak` lost an event that way (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

logger = logging.getLogger(__name__)


def next_commit(acked: list[int], committed: int | None) -> int | None:
    """The offset to commit, or None; `acked` is sorted, and its leading run is removed.

    Only a run of acked offsets that starts at `committed` (or anywhere, before
    the first commit) may be committed: everything before it has been processed.
    """
    if not acked or (committed is not None and acked[0] > committed):
        return None
    end = 1
    while end < len(acked) and acked[end] == acked[end - 1] + 1:
        end += 1
    offset = acked[end - 1] + 1
    del acked[:end]
    return offset


FETCH_MAX_WAIT_MS = 20
"""How long the broker may hold a fetch open for partitions with no new data.

faust asks for 1,500 ms, and aiokafka keeps one fetch per broker in flight,
leaving out partitions whose fetched records are not consumed yet. Once a
backlog had been worked off, new records then waited behind a long poll on
idle partitions at each hop, while the worker sat mostly idle (figures in
docs/benchmarks.md).
"""


SKIPPED_AFTER_S = 20.0
"""How long the record at the committed offset may stay unprocessed while later ones are done."""


class HoleWatch:
    """Notices a record faust fetched but never handed to an agent.

    faust's stream drops, without acking, a message fetched in one consumer
    generation and read from its buffer in the next one (`Stream._c_aiter`),
    and a partition kept across the rebalance is not read again: the record
    at the committed offset is never processed while the ones after it are
    (found by `make soak`, docs/reliability.md). The commit holds there
    (`next_commit`), so nothing is lost for good, but the live state lacks the
    event until a restart. A hole that stands for `timeout` seconds is worth
    reading that partition again from the committed offset; records read twice
    change nothing (docs/semantics.md, "Idempotent").
    """

    def __init__(self, timeout: float = SKIPPED_AFTER_S) -> None:
        self.timeout = timeout
        self.since: dict[Any, tuple[int, float]] = {}

    def stuck(self, tp: Any, committed: int | None, acked: list[int], now: float) -> bool:
        """True once later offsets are acked and `committed` is not, for `timeout` seconds."""
        if committed is None or not acked or acked[0] <= committed:
            self.since.pop(tp, None)
            return False
        first = self.since.get(tp)
        if first is None or first[0] != committed:
            self.since[tp] = (committed, now)
            return False
        if now - first[1] < self.timeout:
            return False
        del self.since[tp]
        return True


class ShortPollConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """faust's consumer thread, with its aiokafka consumer fetching with `FETCH_MAX_WAIT_MS`."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts
        return consumer


class GaplessCommitConsumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer: commits only offsets every earlier record has reached, and
    fetches with a short long-poll (`ShortPollConsumerThread`)."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ShortPollConsumerThread(self, loop=self.loop, beacon=self.beacon)

    _holes: HoleWatch | None = None
    _rereads: set[asyncio.Task[None]] | None = None
    _first_seen: dict[TP, int] | None = None

    def track_message(self, message: Any) -> None:
        """Remember the first offset delivered per partition: before its first commit, nothing
        may be committed past it (events are acked as their sends complete, in any order)."""
        super().track_message(message)
        first = self._first_seen = self._first_seen if self._first_seen is not None else {}
        known = first.get(message.tp)
        if known is None or message.offset < known:
            first[message.tp] = message.offset

    def _committed_or_first(self, tp: TP) -> int | None:
        committed: int | None = self._committed_offset[tp]
        if committed is None and self._first_seen is not None:
            return self._first_seen.get(tp)
        return committed

    def _new_offset(self, tp: TP) -> int | None:
        offset = self._gapless_offset(tp)
        committed = self._committed_or_first(tp)
        if offset is None and committed is not None:
            holes = self._holes = self._holes or HoleWatch()
            if holes.stuck(tp, committed, self._acked[tp], time.monotonic()):
                logger.warning(
                    "%s offset %d was fetched but never processed while later ones were;"
                    " reading the partition again from there",
                    tp,
                    committed,
                )
                self._rereads = self._rereads or set()
                task = asyncio.ensure_future(self.seek(tp, committed))
                self._rereads.add(task)
                task.add_done_callback(self._rereads.discard)
        return offset

    def _gapless_offset(self, tp: TP) -> int | None:
        acked: list[int] = self._acked[tp]
        if not acked:
            return None
        gaps: Any = self._gap[tp]
        if gaps:
            # Offsets the fetcher found absent (as faust does): they count as acked.
            found = sorted(gaps.overlap(0, max(acked)), key=lambda interval: interval.begin)
            if found:
                filler = [offset for interval in found for offset in range(interval.begin, interval.end)]
                acked.extend(filler)
                gaps.chop(0, max(filler[-1], max(acked) + 1))
        acked.sort()
        before = len(acked)
        offset = next_commit(acked, self._committed_or_first(tp))
        if offset is not None:
            self._acked_index[tp].difference_update(range(offset - (before - len(acked)), offset))
        return offset
