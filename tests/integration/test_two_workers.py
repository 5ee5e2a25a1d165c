"""Two workers share the partitions: each holds only its own, forwards a query for an actor it
does not hold, gathers the matrix from both, and every answer equals an in-memory replay's;
one survives the other's stop and then holds every partition."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from streams.core.records import is_withdrawn, parse_stored
from streams.core.stores import CURRENT, EVENTS, HISTORY
from streams.kafka.local_broker import LocalBroker
from streams.kafka.partitioner import partition_of
from streams.query.client import QueryError, get_json
from streams.registry_files import load_registry
from streams.replay.rebuild import rebuild_state
from streams.topics import ensure_topics
from tests.integration.conftest import free_port
from tests.integration.workers import WorkerProcess, publish, seed_folded, seed_lines

pytestmark = pytest.mark.integration


def public(raw: bytes) -> dict[str, Any]:
    return json.loads(parse_stored(raw).as_stance().model_dump_json())


def served_by(worker: WorkerProcess, path: str) -> tuple[Any, str | None]:
    request = urllib.request.Request(
        worker.settings.api + path, headers={"Authorization": "Bearer pair-token"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read()), answer.headers.get("X-Timeline-Served-By")


def disk_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def test_two_workers_hold_their_partitions_route_and_gather_like_a_replay(
    broker: LocalBroker, repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("two-workers")
    # With a token: every request a worker sends its peer (forwarded, gathered) carries it too.
    base = broker.settings.model_copy(
        update={"topic_prefix": "pair.", "home": home, "api_token": SecretStr("pair-token")}
    )
    asyncio.run(ensure_topics(base))
    first = WorkerProcess(base.model_copy(update={"web_port": free_port()}), home).start()
    second = WorkerProcess(base.model_copy(update={"web_port": free_port()}), home).start()
    try:
        first.wait_ready()
        second.wait_ready()
        lines = seed_lines(repo)
        asyncio.run(publish(base, lines))
        first_hash = first.wait_for("/state/hash", seed_folded(lines), timeout=90)
        replayed = asyncio.run(rebuild_state(base, load_registry(base.registry_files)))
        assert first_hash["sha256"] == replayed.result.sha256  # live equals the replay of its log
        assert second.get("/state/hash") == first_hash

        with pytest.raises(QueryError) as refused:
            get_json(first.settings.api, "/stances")
        assert refused.value.status == 401

        # Each worker serves its own partitions: together every one, none twice.
        held = {worker.settings.web_port: worker.get("/health")["partitions"] for worker in (first, second)}
        assert sorted(p for parts in held.values() for p in parts) == list(range(base.partitions)), held
        assert all(held.values()), f"one worker holds nothing: {held}"
        owner = {p: port for port, parts in held.items() for p in parts}

        stores = replayed.outcome.stores
        actors = sorted({key.split(b"|", 1)[0].decode() for key in stores[CURRENT]})
        forwarded = {first.settings.web_port: 0, second.settings.web_port: 0}
        for actor in actors:
            expected = sorted(
                (public(raw) for key, raw in stores[CURRENT].items() if key.startswith(f"{actor}|".encode())),
                key=lambda stance: stance["issue_id"],
            )
            timeline = sorted(
                (
                    parse_stored(raw)
                    for key, raw in stores[HISTORY].items()
                    if key.startswith(f"{actor}|".encode()) and not is_withdrawn(raw)
                ),
                key=lambda claim: (claim.occurred_at.at, claim.recorded_at, claim.event_id, claim.issue_id),
            )
            answers = []
            for worker in (first, second):
                body, via = served_by(worker, f"/actors/{actor}/stances")
                answers.append(body)
                if owner[partition_of(actor.encode(), base.partitions)] != worker.settings.web_port:
                    assert via is not None and via != worker.settings.query_url, (actor, via)
                    forwarded[worker.settings.web_port] += 1
                served_timeline = worker.get(f"/actors/{actor}/timeline", limit="1000")
                assert [s["event_id"] for s in served_timeline["items"]] == [c.event_id for c in timeline]
            assert answers[0] == answers[1] == {"items": expected, "next": None}, actor
        assert all(forwarded.values()), f"each worker forwarded some actor: {forwarded}"

        # The matrix, gathered a small page at a time, from either worker: the replay's current table.
        expected_matrix = [public(stores[CURRENT][key]) for key in sorted(stores[CURRENT])]
        for worker in (first, second):
            pages, cursor = [], None
            while True:
                page = worker.get("/stances", limit="7", cursor=cursor)
                pages += page["items"]
                if (cursor := page["next"]) is None:
                    break
            assert pages == expected_matrix
            column = worker.get("/issues/us-backstop/stances", limit="1000")["items"]
            assert column == [s for s in expected_matrix if s["issue_id"] == "us-backstop"]
            for key, raw in stores[EVENTS].items():
                assert worker.get(f"/events/{key.decode()}")["event"] == json.loads(raw)["event"]

        for worker in (first, second):  # what each held, for the closing note
            datadir = home / "workers" / f"worker-{worker.settings.web_port}"
            parts = worker.get("/internal/summary")["parts"].values()
            keys = {name: sum(part[name] for part in parts) for name in ("events", "stances", "claims")}
            print(
                f"worker {worker.settings.web_port}: partitions {held[worker.settings.web_port]},"
                f" keys {keys}, {disk_bytes(datadir):,} bytes on disk"
            )

        first.stop()
        asyncio.run(
            publish(
                base,
                [
                    {
                        "event_id": "after-stop",
                        "type": "statement",
                        "occurred_at": "2025-03-02",
                        "summary": "Zelensky: Ukraine will not accept a deal made without it.",
                        "stances": [
                            {
                                "actor_id": "volodymyr-zelensky",
                                "issue_id": "kyiv-in-negotiations",
                                "position": "support",
                                "score": 1.0,
                            }
                        ],
                    }
                ],
            )
        )
        answer = second.wait_for(
            "/actors/volodymyr-zelensky/stances",
            lambda page: any(s["event_id"] == "after-stop" for s in page["items"]),
            timeout=90,
        )
        assert any(s["issue_id"] == "kyiv-in-negotiations" for s in answer["items"])
        assert second.wait_for("/health", lambda h: h["partitions"] == list(range(base.partitions)))
    finally:
        first.stop()
        second.stop()
