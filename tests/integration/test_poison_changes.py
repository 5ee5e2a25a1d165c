"""Bad records on the change topic and rebalances, on the real broker.

A record that is not a stance change (not JSON, a missing field) sits between
good changes: every reader skips it in one warning line, counts it and goes
on. Two subscribers in one group share the partitions without losing a
change or committing one that is no longer theirs.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from aiokafka import TopicPartition

from scheduler.changes_source import changes_between
from scheduler.ledger import Ledger
from scheduler.runner import run_subscription
from schemas.digests import Digest
from schemas.stances import StanceChange
from schemas.subscriptions import DigestSubscription, IntervalSchedule, SinkConfig
from streams.clients.subscriber import Subscriber
from streams.kafka import connection
from streams.query.change_reader import ChangeReader
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.factories import new_stance_change
from tests.integration.helpers import read_all
from tests.integration.workers import environment

pytestmark = pytest.mark.integration

NOT_JSON = b"\xff not json"
MOMENT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
"""When the test changes were detected: within the last few minutes, as the change source reads."""


def change(number: int, actor: str = "keir-starmer") -> StanceChange:
    occurred = datetime(2025, 3, 5, tzinfo=UTC)
    change_id = f"chg-{number}-{uuid.uuid4().hex[:6]}"
    return new_stance_change(change_id, f"ev-{number}", MOMENT, occurred=occurred, actor_id=actor, score=0.5)


def missing_change_id(good: StanceChange) -> bytes:
    document = orjson.loads(good.model_dump_json())
    del document["change_id"]
    return orjson.dumps(document)


async def write(settings: Settings, values: list[bytes], partitions: int | None = None) -> None:
    """Send raw values to the change topic with a plain producer: to partition 0, or round robin."""
    producer = connection.producer(settings)
    await producer.start()
    try:
        for index, value in enumerate(values):
            partition = 0 if partitions is None else index % partitions
            await producer.send_and_wait(
                settings.topics.stance_changes, value, key=b"keir-starmer", partition=partition
            )
    finally:
        await producer.stop()


@pytest.fixture
def poisoned(settings: Settings) -> Iterator[tuple[Settings, list[StanceChange]]]:
    """The change topic holding good, good, not JSON, good, no change_id, good (offsets 0 to 5)."""
    good = [change(number) for number in range(4)]
    values = [good[0].model_dump_json().encode(), good[1].model_dump_json().encode(), NOT_JSON]
    values += [
        good[2].model_dump_json().encode(),
        missing_change_id(good[0]),
        good[3].model_dump_json().encode(),
    ]
    asyncio.run(ensure_topics(settings))
    asyncio.run(write(settings, values))
    yield settings, good


def skip_line(reader: str, settings: Settings, offset: int, reason: str) -> str:
    topic = settings.topics.stance_changes
    return f"{reader}: skipped a bad record on {topic} partition 0 offset {offset}: {reason}"


def test_the_subscriber_skips_bad_records_counts_them_and_commits_past_them(
    poisoned: tuple[Settings, list[StanceChange]], caplog: pytest.LogCaptureFixture
) -> None:
    settings, good = poisoned

    async def read(count: int) -> tuple[list[StanceChange], int]:
        found: list[StanceChange] = []
        async with Subscriber(settings, "poison-bot", start="earliest") as subscriber:
            while len(found) < count and (taken := await subscriber.next_change(timeout=20)) is not None:
                found.append(taken)
            while not await subscriber.caught_up():
                assert await subscriber.next_change(timeout=0.5) is None, "a change after the last one"
            await subscriber.commit()
        return found, subscriber.skipped

    first, skipped = asyncio.run(read(len(good)))
    assert first == good and skipped == 2
    warnings = [entry for entry in caplog.records if entry.name == "streams.clients.subscriber"]
    assert [(entry.getMessage(), entry.exc_info) for entry in warnings] == [
        (skip_line("subscriber", settings, 2, "not JSON"), None),
        (skip_line("subscriber", settings, 4, "missing change_id"), None),
    ]
    again, skipped_again = asyncio.run(read(0))  # the group resumes past the bad records too
    assert again == [] and skipped_again == 0


def test_timeline_subscribe_prints_the_good_changes_and_one_line_per_bad_record(
    poisoned: tuple[Settings, list[StanceChange]],
) -> None:
    settings, good = poisoned
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "subscribe", "--json"],
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed = [StanceChange.model_validate_json(line) for line in result.stdout.splitlines()]
    assert printed == good
    assert result.stderr.splitlines() == [  # one line each, no traceback
        skip_line("subscriber", settings, 2, "not JSON"),
        skip_line("subscriber", settings, 4, "missing change_id"),
    ]


def test_the_change_source_skips_bad_records_and_the_digest_is_still_delivered(
    poisoned: tuple[Settings, list[StanceChange]], tmp_path: Path
) -> None:
    settings, good = poisoned
    found = asyncio.run(changes_between(settings, MOMENT - timedelta(hours=1), MOMENT + timedelta(hours=1)))
    assert sorted(found, key=lambda c: c.change_id) == sorted(good, key=lambda c: c.change_id)
    assert found.skipped == 2

    subscription = DigestSubscription(
        id="poisoned",
        schedule=IntervalSchedule(seconds=60),
        sinks=(SinkConfig(kind="topic"),),
        start=MOMENT,
        catch_up="coalesce",
    )
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        report = asyncio.run(
            run_subscription(
                settings, subscription, ledger, changes_between, now=MOMENT + timedelta(minutes=5)
            )
        )
    finally:
        ledger.close()
    [built] = report.built
    assert {c.change_id for group in built.groups for c in group.changes} == {c.change_id for c in good}
    assert report.delivered == [(built.digest_id, subscription.sinks[0].sink_id)] and report.failed == []
    [record] = asyncio.run(read_all(settings, settings.topics.digests, 1))
    assert Digest.model_validate_json(record.value or b"").digest_id == built.digest_id


def test_the_change_reader_keeps_the_good_changes_and_counts_the_bad(
    poisoned: tuple[Settings, list[StanceChange]], caplog: pytest.LogCaptureFixture
) -> None:
    settings, good = poisoned

    async def pages() -> tuple[list[list[StanceChange]], int]:
        reader = ChangeReader(settings)
        await reader.start()
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while not reader.ready:
                assert loop.time() < deadline, "the reader never found the change topic"
                await asyncio.sleep(0.1)
            found, cursor = [], None
            while True:  # one change a page: each bad record lies at a page boundary once
                page = await reader.page(cursor, None, 1)
                found.append(page.items)
                if page.next is None:
                    return found, reader.skipped
                cursor = page.cursor
        finally:
            await reader.stop()

    found, skipped = asyncio.run(pages())
    assert [change for items in found for change in items] == good and skipped == 2
    warnings = [
        entry
        for entry in caplog.records
        if entry.name == "streams.query.change_reader" and entry.levelname == "WARNING"
    ]
    assert [(entry.getMessage(), entry.exc_info) for entry in warnings] == [
        (skip_line("changes", settings, 2, "not JSON"), None),
        (skip_line("changes", settings, 4, "missing change_id"), None),
    ]


def test_a_second_subscriber_takes_partitions_and_no_change_is_lost_or_taken_twice(
    settings: Settings,
) -> None:
    asyncio.run(ensure_topics(settings))
    changes = [change(number, actor=f"actor-{number % 7}") for number in range(80)]
    asyncio.run(write(settings, [c.model_dump_json().encode() for c in changes], settings.partitions))
    everything = {c.change_id for c in changes}

    async def both() -> tuple[list[str], list[str], str]:
        a_got: list[str] = []
        b_got: list[str] = []
        a_holds, b_has_some = asyncio.Event(), asyncio.Event()
        in_hand: list[str] = []

        def finished() -> bool:
            return set(a_got) | set(b_got) >= everything

        async def a_handle(taken: StanceChange) -> None:
            a_got.append(taken.change_id)
            if len(a_got) == 10:  # the group rebalances while A is busy with this change
                in_hand.append(taken.change_id)
                a_holds.set()
                await b_has_some.wait()

        def b_handle(taken: StanceChange) -> None:
            b_got.append(taken.change_id)
            b_has_some.set()

        async with Subscriber(settings, "rebalance", start="earliest") as a:
            a.commit_interval = 3600.0  # A's done changes wait for the rebalance to commit them
            a_run = asyncio.create_task(a.run(a_handle, stop_when=finished))
            await asyncio.wait_for(a_holds.wait(), 30)
            async with Subscriber(settings, "rebalance", start="earliest") as b:
                b_run = asyncio.create_task(b.run(b_handle, stop_when=finished))
                await asyncio.wait_for(asyncio.gather(a_run, b_run), 90)  # A's commits did not raise
                assert a._consumer is not None and b._consumer is not None
                a_holds_now, b_holds_now = a._consumer.assignment(), b._consumer.assignment()
                assert b_holds_now and not a_holds_now & b_holds_now
                await a.commit()
        return a_got, b_got, in_hand[0]

    a_got, b_got, in_hand = asyncio.run(both())
    assert set(a_got) | set(b_got) == everything, "a change was lost"
    assert len(a_got) == len(set(a_got)) and len(b_got) == len(set(b_got))
    # Done changes were committed at the revocation, so B never saw them; only the change
    # A held in hand then may come to B again (delivery is at least once).
    assert set(a_got) & set(b_got) <= {in_hand}, "changes done by A were handed to B again"
    assert b_got, "B took no partition"

    async def committed() -> dict[int, int]:
        consumer = connection.consumer(settings, group_id="rebalance", enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [
                TopicPartition(settings.topics.stance_changes, p) for p in range(settings.partitions)
            ]
            return {p.partition: await consumer.committed(p) for p in partitions}
        finally:
            await consumer.stop()

    per_partition = len(changes) // settings.partitions
    assert asyncio.run(committed()) == dict.fromkeys(range(settings.partitions), per_partition)
