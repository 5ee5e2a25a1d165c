"""The stream worker against the real broker: seed, late, duplicate, dlq, retract, as_of, rebuild."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.kafka.local_broker import LocalBroker
from streams.kafka.partitioner import partition_of
from streams.registry_files import load_registry
from streams.replay.rebuild import rebuild
from streams.settings import Settings
from tests.integration.helpers import read_all
from tests.integration.workers import (
    WorkerProcess,
    own_settings,
    publish,
    start_seeded_worker,
    wait_for_changes,
)


@pytest.fixture(scope="module")
def stream_settings(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return own_settings(broker.settings, tmp_path_factory.mktemp("stream-home"), "stream.")


@pytest.fixture(scope="module")
def worker(
    stream_settings: Settings, repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    process = start_seeded_worker(stream_settings, repo, tmp_path_factory.mktemp("logs"))
    yield process
    process.stop()


def statement(event_id: str, actor: str, issue: str, day: str, score: float) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "statement",
        "occurred_at": day,
        "summary": event_id,
        "actors": [{"actor_id": actor, "role": "speaker"}],
        "stances": [
            {
                "actor_id": actor,
                "issue_id": issue,
                "score": score,
                "confidence": 0.8,
                "position": "support" if score > 0 else "oppose",
            }
        ],
    }


def stance_on(answer: list[dict[str, Any]], issue: str) -> dict[str, Any] | None:
    return next((stance for stance in answer if stance["issue_id"] == issue), None)


def test_seed_loads_and_the_api_answers_for_the_main_actors(worker: WorkerProcess) -> None:
    for actor, issue in [
        ("keir-starmer", "ukraine-security-guarantees"),
        ("emmanuel-macron", "ukraine-support"),
        ("donald-trump", "european-peacekeepers"),
        ("wang-yi", "us-russia-direct-talks"),
        ("justin-trudeau", "kyiv-in-negotiations"),
    ]:
        answer = worker.wait_for_items(
            f"/actors/{actor}/stances", lambda a, i=issue: stance_on(a, i) is not None
        )
        assert stance_on(answer, issue) is not None
    starmer = stance_on(worker.items("/actors/keir-starmer/stances"), "ukraine-security-guarantees")
    assert starmer is not None and starmer["position"] == "support"
    assert starmer["quote"] == "the only way to effectively deter Russia"
    on_backstop = worker.items("/issues/us-backstop/stances")
    assert "keir-starmer" in {stance["actor_id"] for stance in on_backstop}
    event = worker.get("/events/seed-2025-02-20-wang-yi-g20")
    assert event["event"]["type"] == "statement" and event["retracted_by"] is None


def test_unknown_ids_are_404_and_bad_parameters_422(worker: WorkerProcess) -> None:
    from streams.query.client import QueryError

    for path in ["/actors/nobody/stances", "/issues/moon-base/stances", "/events/no-such-event"]:
        with pytest.raises(QueryError) as caught:
            worker.get(path)
        assert caught.value.status == 404
    with pytest.raises(QueryError) as caught:
        worker.items("/actors/keir-starmer/stances", as_of="next tuesday")
    assert caught.value.status == 422


def test_as_of_before_and_after_the_seed(worker: WorkerProcess) -> None:
    worker.wait_for_items("/actors/donald-trump/stances", lambda a: stance_on(a, "us-russia-direct-talks"))
    assert worker.items("/actors/donald-trump/stances", as_of="2025-02-11") == []
    on_the_day = worker.items("/actors/donald-trump/stances", as_of="2025-02-12")
    assert [stance["issue_id"] for stance in on_the_day] == ["us-russia-direct-talks"]
    assert worker.items("/actors/keir-starmer/stances", as_of="2025-02-16") == []
    assert stance_on(worker.items("/actors/keir-starmer/stances", as_of="2025-02-17"), "us-backstop")


def test_late_event_enters_history_but_not_the_current_view(
    worker: WorkerProcess, stream_settings: Settings
) -> None:
    asyncio.run(
        publish(
            stream_settings,
            [statement("late-new", "sergey-lavrov", "ukraine-sovereignty", "2025-03-10", -0.8)],
        )
    )
    worker.wait_for_items(
        "/actors/sergey-lavrov/timeline", lambda a: len(a) == 1, issue="ukraine-sovereignty"
    )
    asyncio.run(
        publish(
            stream_settings,
            [statement("late-old", "sergey-lavrov", "ukraine-sovereignty", "2025-01-10", 0.3)],
        )
    )
    timeline = worker.wait_for_items(
        "/actors/sergey-lavrov/timeline", lambda a: len(a) == 2, issue="ukraine-sovereignty"
    )
    assert [claim["event_id"] for claim in timeline] == ["late-old", "late-new"]
    current = stance_on(worker.items("/actors/sergey-lavrov/stances"), "ukraine-sovereignty")
    assert current is not None and current["event_id"] == "late-new"
    as_of_january = stance_on(
        worker.items("/actors/sergey-lavrov/stances", as_of="2025-02-01"), "ukraine-sovereignty"
    )
    assert as_of_january is not None and as_of_january["event_id"] == "late-old"


def dlq_records(settings: Settings) -> list[Any]:
    return asyncio.run(read_all(settings, settings.topics.dead_letters))


def test_duplicate_changes_nothing_and_a_conflicting_duplicate_goes_to_the_dlq(
    worker: WorkerProcess, stream_settings: Settings
) -> None:
    original = statement("dup-1", "marco-rubio", "european-peacekeepers", "2025-02-18", -0.7)
    conflicting = {**original, "summary": "the same id, other words"}
    asyncio.run(publish(stream_settings, [original, original, conflicting]))
    letters = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        letters = [r for r in dlq_records(stream_settings) if r.key == b"dup-1"]
        if letters:
            break
        time.sleep(0.3)
    assert len(letters) == 1
    headers = dict(letters[0].headers)
    assert headers["dlq.reason"] == b"conflict"
    assert b"already accepted with different content" in headers["dlq.error"]
    assert orjson.loads(letters[0].value)["summary"] == "the same id, other words"
    changes = wait_for_changes(worker, lambda a: any(c["event_id"] == "dup-1" for c in a), timeout=90)
    assert [c["kind"] for c in changes if c["event_id"] == "dup-1"] == ["new"]
    timeline = worker.items("/actors/marco-rubio/timeline", issue="european-peacekeepers")
    assert [claim["event_id"] for claim in timeline] == ["dup-1"]


def test_an_event_on_the_wrong_partition_is_sent_on_to_its_keys_own(
    worker: WorkerProcess, stream_settings: Settings
) -> None:
    """A client with its own partitioner put it elsewhere: folded on its key's partition, where
    the worker holding that key's tables reads it (the rebuild test below compares the hash)."""
    topic = stream_settings.topics.events
    key = b"misplaced-1"
    home = partition_of(key, stream_settings.partitions)
    wrong = (home + 1) % stream_settings.partitions
    value = orjson.dumps(statement("misplaced-1", "david-lammy", "ukraine-support", "2025-02-22", 0.6))

    async def produce_elsewhere() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stream_settings.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, key=key, partition=wrong)
        finally:
            await producer.stop()

    asyncio.run(produce_elsewhere())
    found = worker.wait_for("/events/misplaced-1", lambda record: record["event_id"] == "misplaced-1")
    assert found["event"]["stances"][0]["actor_id"] == "david-lammy"
    copies = [r for r in asyncio.run(read_all(stream_settings, topic)) if r.key == key]
    assert sorted(r.partition for r in copies) == sorted([wrong, home])
    moved = next(r for r in copies if r.partition == home)
    assert dict(moved.headers)["timeline.rerouted_from"].startswith(f"{topic}/{wrong}/".encode())
    assert (
        moved.value == value and moved.timestamp == next(r for r in copies if r.partition == wrong).timestamp
    )


def test_dlq_gets_malformed_bytes_and_unknown_versions_while_good_events_flow(
    worker: WorkerProcess, stream_settings: Settings
) -> None:
    topic = stream_settings.topics.events

    async def produce_raw() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stream_settings.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"{not json", key=b"bad-json")
            await producer.send_and_wait(topic, b"\xff\xfe\xfd", key=b"bad-utf8")
            await producer.send_and_wait(
                topic, b'{"schema_version": 7, "event_id": "v7", "type": "statement"}', key=b"v7"
            )
        finally:
            await producer.stop()

    asyncio.run(produce_raw())
    asyncio.run(
        publish(stream_settings, [statement("after-bad", "g20", "ukraine-support", "2025-02-21", 0.2)])
    )
    worker.wait_for_items("/actors/g20/stances", lambda a: stance_on(a, "ukraine-support") is not None)
    wanted = {b"bad-json": b"invalid_json", b"bad-utf8": b"bad_utf8", b"v7": b"unsupported_schema_version"}
    found: dict[bytes, Any] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = {r.key: r for r in dlq_records(stream_settings) if r.key in wanted}
        if len(found) == len(wanted):
            break
        time.sleep(0.3)
    assert {key: dict(record.headers)["dlq.reason"] for key, record in found.items()} == wanted
    bad_json = dict(found[b"bad-json"].headers)
    assert found[b"bad-json"].value == b"{not json"
    assert bad_json["dlq.topic"] == topic.encode()
    assert int(bad_json["dlq.offset"]) >= 0 and int(bad_json["dlq.partition"]) >= 0


def test_retract_emits_a_withdrawal_and_falls_back(worker: WorkerProcess, stream_settings: Settings) -> None:
    asyncio.run(
        publish(
            stream_settings,
            [
                statement("retract-base", "vladimir-putin", "kyiv-in-negotiations", "2025-02-10", -0.6),
                statement("retract-newer", "vladimir-putin", "kyiv-in-negotiations", "2025-02-20", 0.4),
            ],
        )
    )
    worker.wait_for_items(
        "/actors/vladimir-putin/stances",
        lambda a: (s := stance_on(a, "kyiv-in-negotiations")) and s["event_id"] == "retract-newer",
    )
    asyncio.run(
        publish(
            stream_settings,
            [
                {
                    "event_id": "retract-it",
                    "type": "retraction",
                    "occurred_at": "2025-02-22",
                    "summary": "The remark was misattributed.",
                    "retracts": "retract-newer",
                    "reason": "misattributed",
                }
            ],
        )
    )
    current = worker.wait_for_items(
        "/actors/vladimir-putin/stances",
        lambda a: (s := stance_on(a, "kyiv-in-negotiations")) and s["event_id"] == "retract-base",
    )
    assert stance_on(current, "kyiv-in-negotiations")["position"] == "oppose"  # type: ignore[index]
    changes = wait_for_changes(worker, lambda a: any(c["event_id"] == "retract-it" for c in a))
    withdrawal = next(c for c in changes if c["event_id"] == "retract-it")
    assert withdrawal["kind"] == "withdrawn"
    assert withdrawal["previous"]["event_id"] == "retract-newer"
    assert withdrawal["current"]["event_id"] == "retract-base"
    assert worker.get("/events/retract-newer")["retracted_by"] == "retract-it"


def test_rebuild_hash_equals_live_hash(worker: WorkerProcess, stream_settings: Settings) -> None:
    registry = load_registry()
    result = None
    live: dict[str, Any] = {}
    for _ in range(40):
        result = asyncio.run(rebuild(stream_settings, registry))
        live = worker.get("/state/hash")
        if live["sha256"] == result.sha256:
            break
        asyncio.run(asyncio.sleep(0.5))
    assert result is not None
    assert live["sha256"] == result.sha256, (live, result)
    assert result.events >= 13 and live["stances"] == result.stances and live["claims"] == result.claims
    # The one-process replay gives the same state as the two-process default.
    assert asyncio.run(rebuild(stream_settings, registry, processes=1)).sha256 == result.sha256
