"""Writing the registry topic: new versions of actors and issues, and loading YAML files.

A version takes effect `REGISTRATION_LEAD` after it is written (its `registered_at`), and the
writer returns only once that instant has passed: so a reader that reads the topic to its
end at instant T has read every version in effect by T (`reader.RegistryReader.catch_up`),
and an event published after the command returns is decided against it, live and on replay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.registry_log import (
    EPOCH,
    Entity,
    RegistryHistory,
    RegistryRecord,
    encode_record,
    entity_of,
    key_of,
    record_of,
)
from streams.kafka import connection
from streams.registry.reader import read_registry
from streams.registry_files import load_registry
from streams.settings import Settings

REGISTRATION_LEAD = timedelta(seconds=1)
"""How long after it is written a version takes effect: more than a write takes (acks=all)."""


@dataclass
class Written:
    records: list[RegistryRecord]
    late: timedelta | None = None
    """Set when the write took longer than the lead (said to the user: a replay may differ)."""


@dataclass
class LoadReport:
    """What a load did, by key (`actor:ID`, `issue:ID`)."""

    published: list[str] = field(default_factory=list)
    unchanged: int = 0
    differing: list[str] = field(default_factory=list)
    """Registered with other content and left as they are (`new_only`)."""
    retired: list[str] = field(default_factory=list)
    """Retired on the topic: a file does not bring them back."""
    late: timedelta | None = None


def plan(
    entities: Iterable[Entity], history: RegistryHistory, new_only: bool
) -> tuple[list[Entity], LoadReport]:
    """Which entities to publish: new ids, and (unless `new_only`) changed ones; never a retired id
    and never one equal to its latest version (so loading twice publishes nothing)."""
    report = LoadReport()
    chosen: list[Entity] = []
    for entity in entities:
        key = key_of(entity)
        latest = history.latest(key)
        if latest is None:
            chosen.append(entity)
        elif latest.retired:
            report.retired.append(key)
        elif entity_of(latest) == entity:
            report.unchanged += 1
        elif new_only:
            report.differing.append(key)
        else:
            chosen.append(entity)
    report.published = [key_of(entity) for entity in chosen]
    return chosen, report


async def write_versions(
    settings: Settings,
    entities: Sequence[Entity],
    retired: bool = False,
    registered_at: datetime | None = None,
) -> Written:
    """Publish a version of each entity (acks=all), in effect from `registered_at` (default: now
    plus the lead, waited for before returning)."""
    effective = registered_at or datetime.now(UTC) + REGISTRATION_LEAD
    records = [record_of(entity, effective, retired) for entity in entities]
    if not records:
        return Written([])
    producer = connection.producer(settings, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        sent = []
        for record in records:
            key, value = encode_record(record)
            sent.append(await producer.send(settings.topics.registry, value, key=key))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    written = Written(records)
    if registered_at is None:
        now = datetime.now(UTC)
        if now >= effective:
            written.late = now - effective + REGISTRATION_LEAD
        else:
            await asyncio.sleep((effective - now).total_seconds())
    return written


async def load_files(
    settings: Settings, paths: Iterable[Path], new_only: bool = False, bundled: bool = True
) -> LoadReport:
    """Publish the bundled registry (with `bundled`) and the files' entries (a later file's entry
    replaces an earlier one's by id); each file is read and checked before Kafka is asked."""
    registry = load_registry(list(paths), bundled=bundled)
    history = await read_registry(settings, empty_ok=True)
    entities: list[Entity] = [*registry.actors.values(), *registry.issues.values()]
    chosen, report = plan(entities, history, new_only)
    report.late = (await write_versions(settings, chosen)).late
    return report


async def seed_if_empty(settings: Settings) -> int:
    """Fill an empty registry topic with the bundled registry and TIMELINE_REGISTRY_FILES,
    registered since the start of the log (`EPOCH`): the registry every event was decided
    against before it was in the log. Returns how many versions it wrote."""
    history = await read_registry(settings, empty_ok=True)
    if len(history):
        return 0
    registry = load_registry(settings.registry_files)
    entities: list[Entity] = [*registry.actors.values(), *registry.issues.values()]
    return len((await write_versions(settings, entities, registered_at=EPOCH)).records)
