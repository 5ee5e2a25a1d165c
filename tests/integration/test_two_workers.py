"""Two workers share the partitions; either answers every query; one survives the other's stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from streams.kafka.local_broker import LocalBroker
from streams.topics import ensure_topics
from tests.integration.conftest import free_port
from tests.integration.workers import WorkerProcess, publish, seed_folded, seed_lines


def test_two_workers_answer_the_same_and_one_survives_the_others_stop(
    broker: LocalBroker, repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("two-workers")
    base = broker.settings.model_copy(update={"topic_prefix": "pair.", "home": home})
    asyncio.run(ensure_topics(base))
    first = WorkerProcess(base.model_copy(update={"web_port": free_port()}), home).start()
    second = WorkerProcess(base.model_copy(update={"web_port": free_port()}), home).start()
    try:
        first.wait_ready()
        second.wait_ready()
        lines = seed_lines(repo)

        asyncio.run(publish(base, lines))
        for worker in (first, second):
            worker.wait_for("/health", seed_folded(lines))
        first_hash = first.wait_for("/state/hash", seed_folded(lines))
        second_hash = second.wait_for("/state/hash", lambda state: state["sha256"] == first_hash["sha256"])
        assert second_hash == first_hash
        assert first.get("/actors/keir-starmer/stances") == second.get("/actors/keir-starmer/stances")
        assert first.get("/issues/us-backstop/stances") == second.get("/issues/us-backstop/stances")

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
            lambda stances: any(s["event_id"] == "after-stop" for s in stances),
            timeout=90,
        )
        assert any(s["issue_id"] == "kyiv-in-negotiations" for s in answer)
    finally:
        first.stop()
        second.stop()
