"""The local broker's lifecycle: start, reuse, stop, restart with data kept."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from streams.clients.publisher import Publisher
from streams.kafka.local_broker import BrokerError, LocalBroker, metadata_round_trip
from streams.topics import ensure_topics
from tests.integration.conftest import broker_settings
from tests.integration.helpers import read_all


def test_session_broker_answers_metadata(broker: LocalBroker) -> None:
    assert broker.status().running
    assert asyncio.run(metadata_round_trip(broker.settings)) == 1
    assert "Kafka Server started" in broker.log_file.read_text()


def test_start_is_idempotent_and_reuses_the_running_broker(broker: LocalBroker) -> None:
    pid = broker.status().pid
    again = LocalBroker(broker.settings)
    status = again.start()
    assert status.pid == pid


def test_start_refuses_a_port_taken_by_another_process(broker: LocalBroker, tmp_path: Path) -> None:
    other = LocalBroker(
        broker_settings(tmp_path).model_copy(update={"broker_port": broker.settings.broker_port})
    )
    with pytest.raises(BrokerError, match="already in use"):
        other.start()


def test_stop_and_restart_keeps_published_events(tmp_path: Path) -> None:
    local = LocalBroker(broker_settings(tmp_path))
    local.start()
    try:
        asyncio.run(ensure_topics(local.settings))

        async def publish() -> str:
            async with Publisher(local.settings) as publisher:
                published = await publisher.publish(
                    {
                        "type": "statement",
                        "occurred_at": "2025-02-20",
                        "summary": "kept across a restart",
                        "actors": [{"actor_id": "keir-starmer", "role": "speaker"}],
                    }
                )
            return published.event_id

        event_id = asyncio.run(publish())
        pid = local.status().pid
        assert local.stop() is True
        assert pid is not None and not os.path.exists(f"/proc/{pid}/status")
        assert not local.status().running

        local.start()
        assert local.status().pid != pid
        records = asyncio.run(read_all(local.settings, f"{local.settings.topic_prefix}events", 1))
        assert [record.key for record in records] == [event_id.encode()]
    finally:
        local.stop()
    assert local.stop() is False
