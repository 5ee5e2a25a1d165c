"""Publisher -> real broker -> plain aiokafka consumer."""

from __future__ import annotations

from pathlib import Path

import orjson

from schemas.events import parse_event
from streams.clients.publisher import Publisher, SyncPublisher
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.helpers import read_all


def seed_lines(repo: Path) -> list[bytes]:
    return [line for line in (repo / "seed" / "events.jsonl").read_bytes().splitlines() if line]


async def test_seed_round_trip_keyed_by_event_id(settings: Settings, repo: Path) -> None:
    await ensure_topics(settings)
    lines = seed_lines(repo)
    async with Publisher(settings) as publisher:
        published = await publisher.publish_many(lines)
    assert len(published) == len(lines)

    records = await read_all(settings, settings.topics.events, len(lines))
    assert len(records) == len(lines)
    by_key = {record.key: record for record in records}
    for line, sent in zip(lines, published, strict=True):
        expected_id = orjson.loads(line)["event_id"]
        assert sent.event_id == expected_id
        event = parse_event(by_key[expected_id.encode()].value)
        assert event.event_id == expected_id
        assert event.recorded_at is not None


async def test_derived_ids_make_a_rerun_publish_the_same_keys(settings: Settings) -> None:
    await ensure_topics(settings)
    event = {
        "type": "call",
        "occurred_at": "2025-02-21",
        "summary": "Macron spoke with Zelensky before his trip to Washington.",
        "actors": [
            {"actor_id": "Macron", "role": "speaker"},
            {"actor_id": "volodymyr-zelensky", "role": "participant"},
        ],
    }
    async with Publisher(settings) as publisher:
        first = await publisher.publish(event)
    async with Publisher(settings) as publisher:
        second = await publisher.publish(dict(reversed(list(event.items()))))
    assert first.event_id == second.event_id and first.event_id.startswith("ev-")
    records = await read_all(settings, settings.topics.events, 2)
    assert [record.key for record in records] == [first.event_id.encode()] * 2
    decoded = parse_event(records[0].value)
    assert [actor.actor_id for actor in decoded.actors] == ["emmanuel-macron", "volodymyr-zelensky"]


def test_sync_publisher_for_scripts(settings: Settings, repo: Path) -> None:
    import asyncio

    asyncio.run(ensure_topics(settings))
    with SyncPublisher(settings) as publisher:
        published = publisher.publish(seed_lines(repo)[0])
    assert published.offset == 0
    records = asyncio.run(read_all(settings, settings.topics.events, 1))
    assert records[0].key == published.event_id.encode()
