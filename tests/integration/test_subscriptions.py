"""Subscribing to stance changes: the SDK with filters and resume, server-sent events, kcat."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.stances import StanceChange
from schemas.subscriptions import ChangeFilter
from streams.clients.publisher import Publisher
from streams.clients.subscriber import Subscriber, SyncSubscriber
from streams.kafka.local_broker import LocalBroker
from streams.settings import Settings
from tests.integration.helpers import kcat_read, schema_errors
from tests.integration.workers import (
    WorkerProcess,
    all_changes,
    own_settings,
    start_seeded_worker,
    wait_for_changes,
)

WATCHED = frozenset({"us-backstop", "ukraine-security-guarantees", "european-peacekeepers"})


@pytest.fixture(scope="module")
def subs_settings(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return own_settings(broker.settings, tmp_path_factory.mktemp("subs"), "subs.")


@pytest.fixture(scope="module")
def seeded_worker(subs_settings: Settings, repo: Path) -> Iterator[WorkerProcess]:
    worker = start_seeded_worker(subs_settings, repo)
    try:
        wait_for_changes(worker, lambda changes: len(changes) >= 20)
        yield worker
    finally:
        worker.stop()


def expected_changes(worker: WorkerProcess) -> list[dict[str, Any]]:
    return [change for change in all_changes(worker) if change["issue_id"] in WATCHED]


def test_subscriber_gets_every_matching_change_and_resumes_without_gap_or_duplicate(
    seeded_worker: WorkerProcess, subs_settings: Settings
) -> None:
    expected = {change["change_id"] for change in expected_changes(seeded_worker)}
    assert len(expected) >= 6
    filters = ChangeFilter(issues=WATCHED)

    async def first_part() -> list[StanceChange]:
        async with Subscriber(subs_settings, "resume-group", filters, "earliest") as subscriber:
            taken = [await subscriber.next_change(timeout=30) for _ in range(3)]
            await subscriber.commit()
        return [change for change in taken if change is not None]

    async def the_rest() -> list[StanceChange]:
        found: list[StanceChange] = []
        async with Subscriber(subs_settings, "resume-group", filters, "earliest") as subscriber:
            while (change := await subscriber.next_change(timeout=8)) is not None:
                found.append(change)
        return found

    before = asyncio.run(first_part())
    after = asyncio.run(the_rest())
    received = [change.change_id for change in before + after]
    assert len(before) == 3
    assert len(received) == len(set(received)), "a change was delivered twice"
    assert set(received) == expected, "missed or extra changes"
    assert all(change.issue_id in WATCHED for change in before + after)


def test_sync_subscriber_with_actor_and_kind_filters(
    seeded_worker: WorkerProcess, subs_settings: Settings
) -> None:
    wanted = [
        change["change_id"]
        for change in all_changes(seeded_worker)
        if change["actor_id"] == "keir-starmer" and change["kind"] == "new"
    ]
    options: dict[str, Any] = {
        "filters": ChangeFilter(actors=frozenset({"keir-starmer"}), kinds=frozenset({"new"})),
        "start": "earliest",
    }
    with SyncSubscriber(subs_settings, **options) as subscriber:
        taken = subscriber.take(len(wanted) + 1, timeout=10)
    assert sorted(change.change_id for change in taken) == sorted(wanted)


def read_events(
    url: str, headers: dict[str, str], count: int, once_open: Callable[[], None] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Read `count` server-sent events (id, data) from a stream; `once_open` runs when the
    response has started, which is after the stream fixed where it starts."""
    request = urllib.request.Request(url, headers=headers)
    events: list[tuple[str, dict[str, Any]]] = []
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        if once_open is not None:
            once_open()
        event_id, data = "", ""
        while len(events) < count:
            line = response.readline().decode().rstrip("\n")
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and data:
                events.append((event_id, json.loads(data)))
                event_id, data = "", ""
    return events


def test_sse_delivers_changes_and_resumes_from_last_event_id(
    seeded_worker: WorkerProcess, subs_settings: Settings
) -> None:
    changes = all_changes(seeded_worker)
    counts: dict[str, int] = {}
    for change in changes:
        counts[change["issue_id"]] = counts.get(change["issue_id"], 0) + 1
    issue = max(counts, key=lambda name: counts[name])
    on_issue = [c for c in changes if c["issue_id"] == issue]
    assert len(on_issue) >= 4
    url = f"{subs_settings.api}/changes/stream?issue={issue}&from_start=true"
    first = read_events(url, {}, 2)
    assert [data["issue_id"] for _, data in first] == [issue, issue]
    assert len({event_id for event_id, _ in first}) == 2, "each event's id is the cursor after it"
    resumed = read_events(
        f"{subs_settings.api}/changes/stream?issue={issue}", {"Last-Event-ID": first[1][0]}, len(on_issue) - 2
    )
    ids = [data["change_id"] for _, data in first + resumed]
    assert len(ids) == len(set(ids)) and set(ids) == {c["change_id"] for c in on_issue}


def test_sse_sends_new_changes_live(seeded_worker: WorkerProcess, subs_settings: Settings) -> None:
    async def publish_live() -> None:
        async with Publisher(subs_settings) as publisher:
            await publisher.publish(
                {
                    "event_id": "live-sse",
                    "type": "statement",
                    "occurred_at": "2025-03-05",
                    "summary": "Lammy: Britain will not send troops without a US backstop.",
                    "stances": [
                        {
                            "actor_id": "david-lammy",
                            "issue_id": "us-backstop",
                            "position": "support",
                            "score": 0.8,
                        }
                    ],
                }
            )

    # published once the stream has answered (its start, "now", is fixed by then): no head start to guess
    events = read_events(
        f"{subs_settings.api}/changes/stream?actor=david-lammy", {}, 1, lambda: asyncio.run(publish_live())
    )
    assert events[0][1]["event_id"] == "live-sse" and events[0][1]["kind"] == "new"


def test_kcat_reads_stance_changes_that_match_the_json_schema(
    seeded_worker: WorkerProcess, subs_settings: Settings, repo: Path
) -> None:
    records = kcat_read(subs_settings, subs_settings.topics.stance_changes)
    assert len(records) >= 20
    for key, document in records:
        assert schema_errors(repo, "stance-change.schema.json", document) == []
        assert key == document["actor_id"]
