"""A worker killed with SIGKILL resumes from its changelogs and committed offsets.

docs/semantics.md, "Nothing is lost".
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from streams.kafka.local_broker import LocalBroker
from streams.topics import ensure_topics
from tests.integration.conftest import free_port
from tests.integration.workers import WorkerProcess, all_changes, publish, seed_folded, seed_lines


def test_killed_worker_resumes_with_the_same_state_and_keeps_processing(
    broker: LocalBroker, repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("restart")
    settings = broker.settings.model_copy(
        update={"topic_prefix": "restart.", "home": home, "web_port": free_port()}
    )
    asyncio.run(ensure_topics(settings))
    lines = seed_lines(repo)

    worker = WorkerProcess(settings, home).start().wait_ready()
    try:
        asyncio.run(publish(settings, lines))
        before = worker.wait_for("/state/hash", seed_folded(lines))
        assert worker.process is not None
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(30)

        worker = WorkerProcess(settings, home).start().wait_ready()
        # The killed member keeps its partitions until its session times out (10 s), then the
        # group rebalances and this worker recovers them: /state/hash answers 503 until then.
        after = worker.wait_for("/state/hash", seed_folded(lines), timeout=90)
        assert after == before
        changes = all_changes(worker)
        assert len({change["change_id"] for change in changes}) == len(changes)

        asyncio.run(
            publish(
                settings,
                [
                    {
                        "event_id": "after-kill",
                        "type": "statement",
                        "occurred_at": "2025-03-03",
                        "summary": "Macron: no ceasefire without security guarantees for Ukraine.",
                        "stances": [
                            {
                                "actor_id": "emmanuel-macron",
                                "issue_id": "ukraine-security-guarantees",
                                "position": "support",
                                "score": 1.0,
                            }
                        ],
                    }
                ],
            )
        )
        worker.wait_for_items(
            "/actors/emmanuel-macron/stances",
            lambda stances: any(s["event_id"] == "after-kill" for s in stances),
        )
    finally:
        worker.stop()
