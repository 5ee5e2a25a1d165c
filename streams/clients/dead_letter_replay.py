"""`timeline dlq replay`: publish dead letters again, once what they lacked exists.

An event dead-lettered `unknown_reference` names an actor or issue not registered by its
`recorded_at`; the same bytes would be refused again (docs/semantics.md, "The registry, as of
recorded_at"). So each dead letter of the event topic with a chosen reason goes through the
publisher once more: validated against the registry now, stamped with a new `recorded_at`,
its `event_id` kept. One still invalid stays where it is, to be tried again later. Each
dead letter is replayed once: its partition and offset are remembered in
`HOME/dlq-replayed.json` (a replayed copy is also a duplicate the stream would ignore).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import ConsumerRecord

from streams.clients.author import InvalidEventError
from streams.clients.publisher import Publisher
from streams.kafka import connection
from streams.kafka.metadata import assign_all
from streams.settings import Settings


@dataclass
class DeadLetterReplay:
    """What a replay did: ids sent again, dead letters still invalid, and those left alone."""

    replayed: list[str] = field(default_factory=list)
    still_invalid: list[str] = field(default_factory=list)
    """One line each: where the dead letter is, and why it is still refused."""
    replayed_before: int = 0
    other_reasons: int = 0
    not_replayable: int = 0
    """From another topic (a claim or retraction step's record), or cut short (`dlq.truncated`)."""


class ReplayedOffsets:
    """The dead letters already replayed, by DLQ topic and partition, in a small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            document = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            document = {}
        self.offsets: dict[str, dict[str, list[int]]] = document

    def __contains__(self, where: tuple[str, int, int]) -> bool:
        topic, partition, offset = where
        return offset in self.offsets.get(topic, {}).get(str(partition), [])

    def add(self, topic: str, partition: int, offset: int) -> None:
        self.offsets.setdefault(topic, {}).setdefault(str(partition), []).append(offset)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.offsets, sort_keys=True), "utf-8")
        temporary.replace(self.path)


def replayed_offsets_path(settings: Settings) -> Path:
    return (settings.home / "dlq-replayed.json").absolute()


async def read_dead_letters(settings: Settings) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of the dead-letter topic, from its beginning to its current end."""
    consumer = connection.consumer(
        settings,
        group_id=None,
        client_id=f"dlq-replay-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    try:
        partitions = await assign_all(consumer, settings.topics.dead_letters, settings.bootstrap)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            for records in (await consumer.getmany(*remaining, timeout_ms=500)).values():
                found += records
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return found


async def replay_dead_letters(
    settings: Settings, reasons: frozenset[str], dry_run: bool = False
) -> DeadLetterReplay:
    """Publish again each dead letter of the event topic with one of `reasons` not replayed yet."""
    done = ReplayedOffsets(replayed_offsets_path(settings))
    report = DeadLetterReplay()
    topic = settings.topics.dead_letters
    async with Publisher(settings) as publisher:
        outgoing: dict[bytes, bytes] = {}
        sources: list[tuple[int, int]] = []
        for record in await read_dead_letters(settings):
            headers = {name: value.decode(errors="replace") for name, value in record.headers}
            if headers.get("dlq.reason") not in reasons:
                report.other_reasons += 1
            elif (topic, record.partition, record.offset) in done:
                report.replayed_before += 1
            elif headers.get("dlq.topic") != settings.topics.events or "dlq.truncated" in headers:
                report.not_replayable += 1
            else:
                try:
                    key, encoded = publisher.prepare_outgoing(record.value or b"")
                except InvalidEventError as error:
                    where = f"{topic} partition {record.partition} offset {record.offset}"
                    report.still_invalid.append(f"{where}: {error} [{error.reason}]")
                    continue
                outgoing.setdefault(key, encoded)  # one event dead-lettered twice is sent once
                sources.append((record.partition, record.offset))
        report.replayed = [key.decode() for key in outgoing]
        if dry_run:
            return report
        await publisher.send_prepared(list(outgoing.items()))
    for partition, offset in sources:
        done.add(topic, partition, offset)
    done.save()
    return report
