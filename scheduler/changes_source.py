"""Read the stance changes detected in a window from `diplomacy.stance-changes`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from schemas.stances import StanceChange
from streams.clients.subscriber import PoisonChange, parse_change, warn_skipped
from streams.kafka import connection
from streams.kafka.metadata import assign_all
from streams.settings import Settings

logger = logging.getLogger(__name__)

# A change's record is written just after it is detected; look back a little for clock skew.
SLACK = timedelta(minutes=5)


class WindowChanges(list[StanceChange]):
    """A window's changes, a plain list to the runner, with the count of bad records skipped
    on the way (each logged once): one bad record must not fail every digest run."""

    def __init__(self, changes: Iterable[StanceChange] = (), skipped: int = 0) -> None:
        super().__init__(changes)
        self.skipped = skipped


async def changes_between(settings: Settings, start: datetime, end: datetime) -> WindowChanges:
    """Every change (de-duplicated by change_id) with start <= detected_at < end."""
    topic = settings.topics.stance_changes
    consumer = connection.consumer(settings, enable_auto_commit=False)
    await consumer.start()
    found: dict[str, StanceChange] = {}
    skipped = 0
    try:
        partitions = await assign_all(consumer, topic, settings.bootstrap)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.offsets_for_times(
            {p: int((start - SLACK).timestamp() * 1000) for p in partitions}
        )
        remaining = set()
        for partition in partitions:
            offset = starts.get(partition)
            if offset is not None and offset.offset < ends[partition]:
                consumer.seek(partition, offset.offset)
                remaining.add(partition)
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
            for records in batches.values():
                for record in records:
                    if record.value is None:
                        continue
                    try:
                        change = parse_change(record.value)
                    except PoisonChange as error:
                        skipped += 1
                        warn_skipped(logger, "digest changes", record, str(error))
                        continue
                    if start <= change.detected_at < end:
                        found.setdefault(change.change_id, change)
            for partition in list(remaining):
                if await consumer.position(partition) >= ends[partition]:
                    remaining.discard(partition)
    finally:
        await consumer.stop()
    return WindowChanges(found.values(), skipped)
