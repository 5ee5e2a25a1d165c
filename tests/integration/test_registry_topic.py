"""The registry on Kafka, as a user meets it: an actor added while a worker runs is accepted
without a restart, an event recorded before it is dead-lettered and a rebuild decides the
same; `timeline dlq replay` sends that one again once; `registry load` is idempotent."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from streams.kafka import connection
from streams.kafka.local_broker import LocalBroker
from streams.registry.loading import load_files
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.helpers import read_all
from tests.integration.workers import WorkerProcess, own_settings


def timeline(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **settings.environment()},
        timeout=180,
        check=False,
    )


def wadephul_event(event_id: str, score: float) -> dict[str, object]:
    return {
        "event_id": event_id,
        "type": "statement",
        "occurred_at": "2025-08-18",
        "summary": "Wadephul: Germany will help guarantee Ukraine's security.",
        "actors": [{"actor_id": "johann-wadephul", "role": "speaker"}],
        "stances": [
            {
                "actor_id": "johann-wadephul",
                "issue_id": "ukraine-security-guarantees",
                "position": "support",
                "score": score,
                "confidence": 0.8,
            }
        ],
    }


async def produce_raw(settings: Settings, document: dict[str, object]) -> None:
    """As a producer without the SDK would (the SDK would refuse an unknown actor)."""
    producer = connection.producer(settings, acks="all")
    await producer.start()
    try:
        value = orjson.dumps({**document, "recorded_at": datetime.now(UTC).isoformat()})
        await producer.send_and_wait(settings.topics.events, value, key=str(document["event_id"]).encode())
    finally:
        await producer.stop()


@pytest.fixture(scope="module")
def registry_settings(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return own_settings(broker.settings, tmp_path_factory.mktemp("registry-home"), "registry.")


@pytest.fixture(scope="module")
def worker(registry_settings: Settings) -> Iterator[WorkerProcess]:
    asyncio.run(ensure_topics(registry_settings))  # seeds the bundled registry
    process = WorkerProcess(registry_settings, registry_settings.home).start().wait_ready()
    yield process
    process.stop()


def test_an_actor_added_while_the_worker_runs_is_accepted_and_replay_agrees(
    registry_settings: Settings, worker: WorkerProcess, tmp_path: Path
) -> None:
    settings = registry_settings
    asyncio.run(produce_raw(settings, wadephul_event("ev-wadephul-early", 0.6)))
    letters = asyncio.run(read_all(settings, settings.topics.dead_letters, 1, timeout=45))
    assert dict(letters[0].headers)["dlq.reason"] == b"unknown_reference"

    added = timeline(
        settings, "actors", "add", "johann-wadephul", "--name", "Johann Wadephul", "--kind", "person",
        "--country", "DEU",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    again = timeline(settings, "actors", "add", "johann-wadephul", "--name", "J. W.", "--kind", "person")
    assert again.returncode == 1 and "already registered" in again.stderr

    events = tmp_path / "wadephul.jsonl"
    events.write_bytes(orjson.dumps(wadephul_event("ev-wadephul-later", 0.8)) + b"\n")
    published = timeline(settings, "publish", str(events))
    assert published.returncode == 0, published.stderr
    stances = worker.wait_for_items("/actors/johann-wadephul/stances", lambda items: len(items) == 1)
    assert stances[0]["event_id"] == "ev-wadephul-later"
    answered = timeline(settings, "stance", "johann-wadephul")
    assert answered.returncode == 0, answered.stderr
    assert "ukraine-security-guarantees" in answered.stdout and "ev-wadephul-later" in answered.stdout

    compared = timeline(settings, "rebuild", "--compare")
    assert compared.returncode == 0 and "(equal)" in compared.stdout, compared.stdout + compared.stderr
    assert "1 dead letters" in compared.stdout  # the early event, refused the same way

    replayed = timeline(settings, "dlq", "replay")
    assert replayed.returncode == 0, replayed.stderr
    assert "published 1 event(s) again" in replayed.stdout
    worker.wait_for("/events/ev-wadephul-early", lambda record: record["event_id"] == "ev-wadephul-early")
    once = timeline(settings, "dlq", "replay")
    assert "published 0 event(s) again" in once.stdout and "1 replayed before" in once.stdout
    worker.wait_for("/state/hash", lambda state: state["events"] == 2)
    compared = timeline(settings, "rebuild", "--compare")
    assert compared.returncode == 0 and "(equal)" in compared.stdout, compared.stdout + compared.stderr


def test_registry_load_is_idempotent_and_retired_ids_are_refused(
    registry_settings: Settings, worker: WorkerProcess, tmp_path: Path
) -> None:
    settings = registry_settings
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "actors:\n  - {id: kaja-kallas, name: Kaja Kallas, kind: person, aliases: [the EU's top diplomat]}\n"
        "issues:\n  - {id: ceasefire-monitoring, title: Who monitors a ceasefire}\n"
    )
    first = timeline(settings, "registry", "load", str(extra))
    assert first.returncode == 0, first.stderr
    assert "published 2 version(s)" in first.stdout
    second = timeline(settings, "registry", "load", str(extra))
    assert "published 0 version(s)" in second.stdout, second.stdout

    listed = orjson.loads(timeline(settings, "actors", "list", "--json").stdout)
    assert "kaja-kallas" in {actor["id"] for actor in listed}
    worker.wait_for("/actors/kaja-kallas", lambda actor: actor["name"] == "Kaja Kallas")
    alias = timeline(settings, "actors", "alias", "kaja-kallas", "the High Representative")
    assert alias.returncode == 0, alias.stderr
    shown = orjson.loads(timeline(settings, "actors", "show", "kaja-kallas", "--json").stdout)
    assert shown["versions"] == 2 and len(shown["aliases"]) == 2
    restarted = asyncio.run(load_files(settings, [extra], new_only=True))  # what `timeline up` runs
    assert restarted.published == [] and restarted.differing == ["actor:kaja-kallas"]  # the alias stays
    assert timeline(settings, "registry", "load", str(extra)).stdout.startswith("published 1 version(s)")

    retired = timeline(settings, "issues", "retire", "ceasefire-monitoring")
    assert retired.returncode == 0, retired.stderr
    claim = {
        "actor_id": "kaja-kallas",
        "issue_id": "ceasefire-monitoring",
        "position": "support",
        "score": 0.5,
    }
    event = {"type": "statement", "occurred_at": "2025-08-18", "summary": "x", "stances": [claim]}
    events = tmp_path / "retired.jsonl"
    events.write_bytes(orjson.dumps(event) + b"\n")
    refused = timeline(settings, "publish", "--dry-run", str(events))
    assert refused.returncode == 1 and "'ceasefire-monitoring' is retired" in refused.stderr
    unknown = timeline(settings, "actors", "show", "nobody-at-all")
    assert unknown.returncode == 1 and "unknown actor 'nobody-at-all'" in unknown.stderr


def test_timeline_draft_reads_the_registry_topic_when_a_broker_answers(
    registry_settings: Settings, tmp_path: Path
) -> None:
    """An actor added on the topic is found by name in a draft; offline, the same name is proposed."""
    settings = registry_settings
    asyncio.run(ensure_topics(settings))
    added = timeline(
        settings, "actors", "add", "radoslaw-sikorski", "--name", "Radoslaw Sikorski", "--kind", "person",
    )  # fmt: skip
    assert added.returncode == 0 or "already registered" in added.stderr, added.stderr
    article = tmp_path / "article.txt"
    article.write_text(
        'Foreign Minister Radoslaw Sikorski said on Monday: "We will keep supporting Ukraine."\n'
    )
    online = timeline(settings, "draft", str(article), "--published", "2025-03-05")
    assert online.returncode == 0, online.stderr
    assert f"registry: the topic {settings.topics.registry}" in online.stderr
    drafted = [orjson.loads(line) for line in online.stdout.splitlines() if line.strip()]
    assert any(a["actor_id"] == "radoslaw-sikorski" for event in drafted for a in event["actors"]), drafted

    offline = timeline(settings, "draft", str(article), "--published", "2025-03-05", "--offline")
    assert offline.returncode == 0, offline.stderr
    assert "(--offline)" in offline.stderr and "unknown person 'Radoslaw Sikorski'" in offline.stderr
    assert "radoslaw-sikorski" not in offline.stdout
