"""Interop with a Kafka client no one here wrote: kcat (librdkafka)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.events import parse_event
from streams.clients.publisher import Publisher
from streams.core.ingest import Accepted, decide
from streams.registry_files import load_registry
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.helpers import kcat_read, read_all, schema_errors

KCAT = shutil.which("kcat")


@pytest.fixture
def kcat() -> str:
    assert KCAT is not None, "kcat is missing: 'make test' installs it (apt-get install kcat)"
    return KCAT


def test_kcat_reads_a_published_event_that_matches_the_json_schema(settings: Settings, repo: Path) -> None:
    asyncio.run(ensure_topics(settings))
    line = (repo / "seed" / "events.jsonl").read_bytes().splitlines()[0]

    async def publish() -> str:
        async with Publisher(settings) as publisher:
            return (await publisher.publish(line)).event_id

    event_id = asyncio.run(publish())
    [(key, document)] = kcat_read(settings, settings.topics.events)
    assert key == event_id
    assert schema_errors(repo, "diplomatic-event.schema.json", document) == []
    assert document["event_id"] == event_id and document["schema_version"] == 1


def test_an_event_written_by_kcat_is_accepted_by_the_validator(
    settings: Settings, repo: Path, kcat: str
) -> None:
    asyncio.run(ensure_topics(settings))
    document = {
        "schema_version": 1,
        "event_id": "kcat-wang-yi-g20",
        "type": "statement",
        "occurred_at": {"at": "2025-02-20T00:00:00Z", "precision": "day"},
        "recorded_at": "2025-02-21T09:30:00Z",
        "actors": [{"actor_id": "wang-yi", "role": "speaker"}],
        "summary": "Wang Yi backs all efforts conducive to peace.",
        "stances": [
            {
                "actor_id": "wang-yi",
                "issue_id": "us-russia-direct-talks",
                "position": "support",
                "score": 0.6,
                "confidence": 0.8,
            }
        ],
    }
    assert schema_errors(repo, "diplomatic-event.schema.json", document) == []
    subprocess.run(
        [
            kcat,
            "-b",
            settings.bootstrap,
            "-P",
            "-t",
            settings.topics.events,
            "-k",
            document["event_id"],
        ],
        input=json.dumps(document),
        text=True,
        timeout=60,
        check=True,
    )
    records = asyncio.run(read_all(settings, settings.topics.events, 1))
    assert records[0].key == b"kcat-wang-yi-g20"
    event = parse_event(records[0].value)
    assert event.type == "statement" and event.stances[0].issue_id == "us-russia-direct-talks"


def test_kcat_publishes_the_input_form_and_the_stream_side_accepts_it(
    settings: Settings, repo: Path, kcat: str
) -> None:
    """A publisher in another language writes what the input schema describes (a text time, a
    place's name, aliases, a basis, no recorded_at) straight onto the topic; the worker's ingest
    decision accepts it as `timeline publish` would."""
    asyncio.run(ensure_topics(settings))
    document = {
        "event_id": "kcat-paris-joint-statement",
        "type": "joint_statement",
        "occurred_at": "2025-02-12",
        "location": "Paris",
        "actors": [
            {"actor_id": "David Lammy", "role": "signatory"},
            {"actor_id": "Emmanuel Macron", "role": "host"},
        ],
        "summary": "Foreign ministers in Paris: Ukraine must be at the table.",
        "stances": [
            {
                "actor_id": "david-lammy",
                "issue_id": "kyiv-in-negotiations",
                "position": "support",
                "score": 0.9,
                "basis": "signed the joint statement",
            }
        ],
    }
    assert schema_errors(repo, "diplomatic-event.input.schema.json", document) == []
    assert schema_errors(repo, "diplomatic-event.schema.json", document) != []  # not the stored form
    subprocess.run(
        [kcat, "-b", settings.bootstrap, "-P", "-t", settings.topics.events, "-k", document["event_id"]],
        input=json.dumps(document),
        text=True,
        timeout=60,
        check=True,
    )
    [record] = asyncio.run(read_all(settings, settings.topics.events, 1))
    record_time = datetime.fromtimestamp(record.timestamp / 1000, UTC)
    decision = decide(record.key, record.value, None, load_registry(), record_time)
    assert isinstance(decision, Accepted), decision
    assert [actor.actor_id for actor in decision.event.actors] == ["david-lammy", "emmanuel-macron"]
    assert decision.record.event is not None
    assert schema_errors(repo, "diplomatic-event.schema.json", decision.record.event) == []
    assert decision.claims[0]["basis"] == "signed the joint statement"
    assert decision.event.recorded_at == record_time
