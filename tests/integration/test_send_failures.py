"""A send Kafka refuses fails the step: the event is dead-lettered and only then committed past.

The claims topic is given a record limit (`max.message.bytes`) that one event's
claim exceeds, so the broker refuses that send after the step has returned:
the case aiokafka's flush never reported.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.kafka import connection
from streams.kafka.local_broker import LocalBroker
from streams.topics import ensure_topics
from tests.integration.conftest import free_port
from tests.integration.helpers import read_all
from tests.integration.workers import WorkerProcess, publish

pytestmark = pytest.mark.integration


def statement(event_id: str, quote: str) -> dict[str, object]:
    return {
        "event_id": event_id,
        "type": "statement",
        "occurred_at": "2025-03-05",
        "summary": event_id,
        "stances": [
            {
                "actor_id": "keir-starmer",
                "issue_id": "us-backstop",
                "position": "support",
                "score": 0.5,
                "quote": quote,
            }
        ],
    }


async def limit_records(settings: object, topic: str, max_bytes: int) -> None:
    admin = connection.admin(settings)  # type: ignore[arg-type]
    await admin.start()
    try:
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(max_bytes)})]
        )
    finally:
        await admin.close()


async def committed_on(settings: object, topic: str) -> int:
    admin = connection.admin(settings)  # type: ignore[arg-type]
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.app_id)  # type: ignore[attr-defined]
        return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)
    finally:
        await admin.close()


def test_a_refused_claim_dead_letters_its_event_and_the_worker_goes_on(
    broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home: Path = tmp_path_factory.mktemp("sendfail")
    settings = broker.settings.model_copy(
        update={"topic_prefix": "sendfail.", "home": home, "web_port": free_port()}
    )
    asyncio.run(ensure_topics(settings))
    asyncio.run(limit_records(settings, settings.topics.claims, 1500))
    worker = WorkerProcess(settings, home).start().wait_ready()
    try:
        # Alone first: the broker refuses a whole batch, so records batched with it would fail too.
        asyncio.run(publish(settings, [statement("huge", "x" * 4000)]))
        [dead] = asyncio.run(read_all(settings, settings.topics.dead_letters, 1, timeout=60))
        headers = dict(dead.headers)
        assert dead.key == b"huge" and headers["dlq.reason"] == b"send_failed"
        assert b"MessageSizeTooLarge" in headers["dlq.error"]
        events = [statement("small-1", "short"), statement("small-2", "short")]
        asyncio.run(publish(settings, events))
        stances = worker.wait_for_items(
            "/actors/keir-starmer/timeline", lambda claims: {c["event_id"] for c in claims} >= {"small-2"}
        )
        assert {claim["event_id"] for claim in stances} == {"small-1", "small-2"}
        assert len(asyncio.run(read_all(settings, settings.topics.dead_letters))) == 1
        deadline = time.monotonic() + 60
        while asyncio.run(committed_on(settings, settings.topics.events)) < 3:
            assert time.monotonic() < deadline, "the worker never committed past the refused event"
            time.sleep(0.5)
    finally:
        worker.stop()
