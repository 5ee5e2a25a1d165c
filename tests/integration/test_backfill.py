"""`timeline rebuild --write`: a log folded in batches, written to the changelogs, served by a
worker started afterwards without folding the log again."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from streams.kafka import connection
from streams.kafka.local_broker import LocalBroker
from streams.kafka.metadata import topic_partitions
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.conftest import free_port
from tests.integration.workers import WorkerProcess, environment, publish, seed_folded, seed_lines

pytestmark = pytest.mark.integration


def timeline(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def records_in(settings: Settings, topic: str) -> int:
    consumer = connection.consumer(settings, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        return sum((await consumer.end_offsets(partitions)).values()) if partitions else 0
    finally:
        await consumer.stop()


def test_a_backfilled_state_is_served_by_a_worker_started_afterwards(
    broker: LocalBroker, repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("backfill")
    settings = broker.settings.model_copy(
        update={"topic_prefix": "backfill.", "home": home, "web_port": free_port()}
    )
    asyncio.run(ensure_topics(settings))
    lines = seed_lines(repo)
    asyncio.run(publish(settings, lines))  # the history, published before any worker runs

    done = timeline(settings, "rebuild", "--write", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["events"] == len(lines) and result["changes_sent"] == 0
    assert result["written"][settings.topics.changelog("events")] == len(lines)
    assert result["committed"][settings.topics.events] == len(lines)

    again = timeline(settings, "rebuild", "--write")
    assert again.returncode == 1
    assert "backfill refused" in again.stderr and "already holds state" in again.stderr

    worker = WorkerProcess(settings, home).start().wait_ready()
    try:
        served = worker.wait_for("/state/hash", seed_folded(lines))
        assert served["sha256"] == result["sha256"]  # backfilled = what live processing gives
        asyncio.run(
            publish(
                settings,
                [
                    {
                        "event_id": "after-backfill",
                        "type": "statement",
                        "occurred_at": "2025-03-04",
                        "summary": "a new event",
                    }
                ],
            )
        )
        worker.wait_for("/events/after-backfill", lambda found: found["event_id"] == "after-backfill")
        # The worker folded the new event only: the history's claims never went through the agents.
        assert asyncio.run(records_in(settings, settings.topics.claims)) == 0
        assert asyncio.run(records_in(settings, settings.topics.stance_changes)) == 0
        running = timeline(settings, "rebuild", "--write")
        assert running.returncode == 1 and "backfill refused" in running.stderr
    finally:
        worker.stop()
