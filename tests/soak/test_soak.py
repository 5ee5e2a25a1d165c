"""The soak scenarios (issue 6): real broker and worker processes, harm done to them, and
the oracle's verdict: the served view equals the event-time fold for every key, no
stance change is missing and none is duplicated after de-duplication by change_id.

Sizes scale with TIMELINE_SOAK_SCALE (1.0 by default: 100k events where the issue
asks for them); every scenario adds one row to the summary table.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.clients.publisher import InvalidEventError
from streams.clients.subscriber import Subscriber
from streams.kafka.local_broker import LocalBroker
from streams.query.client import QueryError
from streams.registry_files import load_registry
from streams.replay.memory import Replay
from streams.replay.rebuild import rebuild
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.conftest import broker_settings
from tests.integration.helpers import read_all
from tests.integration.workers import WorkerProcess, environment
from tests.soak import generator
from tests.soak.harness import (
    BackgroundPublisher,
    Row,
    Summary,
    assert_ok,
    check_against_oracle,
    dead_letters,
    fill,
    header,
    health,
    kill_9,
    logged_events,
    publish,
    send_raw,
    soak_settings,
    wait_caught_up,
    with_port,
)
from tests.soak.oracle import expected_claims

SCALE = float(os.environ.get("TIMELINE_SOAK_SCALE", "1"))
pytestmark = pytest.mark.timeout(1500)


def sized(count: int) -> int:
    return max(200, int(count * SCALE))


def unique_events(documents: list[dict[str, Any]]) -> int:
    return len({doc["event_id"] for doc in documents})


def scenario(
    broker_settings: Settings, home: Path, prefix: str, count: int, seed: int
) -> tuple[list[dict[str, Any]], Settings]:
    """A scenario's events and its settings, with its topics created."""
    settings = soak_settings(broker_settings, home, prefix)
    asyncio.run(ensure_topics(settings))
    return generator.good_events(count, seed=seed), settings


def replay_of(settings: Settings, records: list[tuple[str, bytes]]) -> Replay:
    """Logged events (event_id, bytes) folded in memory, in the given order, with no broker."""
    replay = Replay(load_registry(settings.registry_files), settings.score_change_threshold)

    async def feed() -> None:
        for event_id, value in records:
            await replay.feed(event_id.encode(), value, 0)

    asyncio.run(feed())
    return replay


def start_worker(settings: Settings) -> WorkerProcess:
    return WorkerProcess(settings, settings.home).start().wait_ready(180)


# 1 --------------------------------------------------------------------------------


def test_kill_9_of_the_worker_at_random_moments(broker: LocalBroker, home: Path, summary: Summary) -> None:
    count = sized(100_000)
    documents, settings = scenario(broker.settings, home, "kill.", count, seed=101)
    kill_at_random_moments(settings, documents, Row("1 kill -9 of the worker", events=count), summary)


def test_kill_9_with_retractions_mixed_in(broker: LocalBroker, home: Path, summary: Summary) -> None:
    """The same kills in a stream with 5% retractions: withdrawals survive crashes (tombstones)."""
    count = sized(50_000)
    plain, settings = scenario(broker.settings, home, "killretract.", count, seed=112)
    documents = generator.with_retractions(plain, share=0.05, seed=12)
    row = Row("12 kill -9 with 5% retractions", events=len(documents))
    kill_at_random_moments(settings, documents, row, summary)


def kill_at_random_moments(
    settings: Settings, documents: list[dict[str, Any]], row: Row, summary: Summary
) -> None:
    """Five or more kill -9 of the worker while the documents stream in; then the oracle."""
    count = len(documents)
    started = time.monotonic()
    rng = random.Random(1)
    worker = start_worker(settings)
    # Paced so that the stream lasts long enough for five kills in the middle of it.
    feed = BackgroundPublisher(settings, documents, rate=max(200.0, count / 90)).start()
    recoveries: list[float] = []
    resumes: list[float] = []
    try:
        while row.kills < 5 or feed.running:
            time.sleep(rng.uniform(6, 14))
            before = (health(worker) or {}).get("events")
            kill_9(worker)
            row.kills += 1
            time.sleep(rng.uniform(0.5, 2.0))
            restarted = time.monotonic()
            worker = start_worker(settings)
            recoveries.append(time.monotonic() - restarted)
            if before is not None and before >= count:
                # Every event was in the view already: nothing is left to resume (a small --scale).
                print(
                    f"[soak]   kill {row.kills} after all {before} events;"
                    f" ready again in {recoveries[-1]:.1f}s",
                    flush=True,
                )
                continue
            resumed = wait_for_progress(worker, before or 0)
            print(
                f"[soak]   kill {row.kills} at {before} events; ready again in {recoveries[-1]:.1f}s,"
                f" processing again after {resumed:.1f}s",
                flush=True,
            )
            resumes.append(resumed)
            if row.kills >= 8:
                break
        feed.join()
        wait_caught_up(worker, count, expected_claims(documents))
        row.seconds = time.monotonic() - started
        row.recover_s = max(recoveries)
        check = check_against_oracle(settings, worker, documents)
        fill(row, check)
        row.dlq = len(dead_letters(settings))
        row.note = (
            f"restart to ready: max {max(recoveries):.1f}s, mean {sum(recoveries) / len(recoveries):.1f}s;"
            + (
                f" to processing again: max {max(resumes):.1f}s"
                if resumes
                else " every kill came after the last event: none timed to processing again"
            )
        )
        assert_ok(check)
        assert row.dlq == 0
        assert row.kills >= 5
        row.passed = True
    finally:
        worker.stop()
        summary.add(row)


def wait_for_progress(worker: WorkerProcess, events: int, timeout: float = 60) -> float:
    """Seconds until the restarted worker's view passes `events` (its group has rebalanced and
    it processes again), so that the next kill lands in the middle of work, not of a rejoin."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        now = (health(worker) or {}).get("events", 0)
        if now > events:
            break
        time.sleep(0.5)
    return time.monotonic() - started


# 2 --------------------------------------------------------------------------------


def test_a_poison_record_is_never_silently_skipped(broker: LocalBroker, home: Path, summary: Summary) -> None:
    """Records that make processing raise (written by another client into the internal
    topics) end in the DLQ with their reason, also across a kill -9 right after them."""
    count = sized(5_000)
    documents = generator.good_events(count, seed=102)
    settings = soak_settings(broker.settings, home, "poison.")
    topics = settings.topics
    asyncio.run(ensure_topics(settings))
    row = Row("2 poison records", events=count)
    started = time.monotonic()
    poison = [
        (topics.claims, b"bench-actor-0001", b"this is not a claim operation"),
        (topics.claims, b"bench-actor-0002", b'{"op": "add", "actor_id": "bench-actor-0002"}'),
        (  # valid as a record, but an "add" without its stance: the fold raises on it
            topics.claims,
            b"bench-actor-0003",
            orjson.dumps(
                {
                    "op": "add",
                    "actor_id": "bench-actor-0003",
                    "issue_id": "bench-issue-01",
                    "event_id": "ghost",
                    "cause_event_id": "ghost",
                    "cause_occurred_at": {"at": "2025-01-01T00:00:00Z", "precision": "day"},
                }
            ),
        ),
        (topics.retractions, b"some-event", b"\xff\xfe not a retraction request"),
    ]
    worker = start_worker(settings)
    try:
        publish(settings, documents[: count // 2])
        for topic, key, value in poison:
            asyncio.run(send_raw(settings, topic, [(key, value)]))
        time.sleep(1.0)
        kill_9(worker)  # right after the poison: processed before, or again after the restart
        row.kills = 1
        worker = start_worker(settings)
        publish(settings, documents[count // 2 :])
        wait_caught_up(worker, count, expected_claims(documents))
        row.seconds = time.monotonic() - started
        check = check_against_oracle(settings, worker, documents)
        fill(row, check)
        letters = dead_letters(settings)
        row.dlq = len(letters)
        found = {(header(r, "dlq.topic"), r.value): header(r, "dlq.reason") for r in letters}
        missing = [value for topic, _, value in poison if (topic, value) not in found]
        reasons = {found.get((topic, value)) for topic, _, value in poison}
        row.note = (
            f"{len(poison)} poison records; in the DLQ: {len(poison) - len(missing)};"
            f" reasons {sorted(map(str, reasons))}"
        )
        assert not missing, missing
        assert reasons == {"processing_error"}
        assert all(header(r, "dlq.error") for r in letters)
        assert_ok(check)
        row.passed = True
    finally:
        worker.stop()
        summary.add(row)


# 3 --------------------------------------------------------------------------------


def test_a_malformed_flood_goes_to_the_dlq_and_changes_nothing_else(
    broker: LocalBroker, home: Path, summary: Summary
) -> None:
    count = sized(100_000)
    documents = generator.good_events(count, seed=103)
    settings = soak_settings(broker.settings, home, "flood.")
    topics = settings.topics
    asyncio.run(ensure_topics(settings))
    bad = generator.bad_records(
        sized(1_000), seed=3, template=documents[0], max_bytes=settings.max_event_bytes
    )
    row = Row("3 malformed flood", events=count + len(bad))
    started = time.monotonic()
    worker = start_worker(settings)
    pid = worker.process.pid if worker.process else None
    try:
        pieces = 20
        for piece in range(pieces):
            publish(settings, documents[piece * count // pieces : (piece + 1) * count // pieces])
            chunk = bad[piece * len(bad) // pieces : (piece + 1) * len(bad) // pieces]
            asyncio.run(send_raw(settings, topics.events, [(key, value) for _, key, value in chunk]))
        wait_caught_up(worker, count, expected_claims(documents))
        row.seconds = time.monotonic() - started
        check = check_against_oracle(settings, worker, documents)
        fill(row, check)
        letters = dead_letters(settings)
        row.dlq = len(letters)
        reason_of = {r.key: header(r, "dlq.reason") for r in letters}
        wrong = [(kind, key, reason_of.get(key)) for kind, key, _ in bad if reason_of.get(key) != kind]
        # "Identical to a run without them": the good events alone, folded with no broker.
        logged = logged_events(settings)
        replay = replay_of(settings, [(doc["event_id"], logged[doc["event_id"]]) for doc in documents])
        live = worker.get("/state/hash")["sha256"]
        alive = worker.process is not None and worker.process.poll() is None and worker.process.pid == pid
        kinds = Counter(reason_of.values())
        row.note = (
            f"DLQ by reason {dict(sorted(kinds.items()))}; worker crashes 0;"
            f" hash equals the good-only run: {live == replay.hash(settings.partitions)}"
        )
        assert alive, "the worker crashed"
        assert not wrong, wrong[:10]
        assert row.dlq == len(bad)
        assert live == replay.hash(settings.partitions)
        assert_ok(check)
        row.passed = True
    finally:
        worker.stop()
        summary.add(row)


# 4 --------------------------------------------------------------------------------


def test_disorder_and_very_late_events(broker: LocalBroker, home: Path, summary: Summary) -> None:
    count = sized(30_000)
    base = generator.with_retractions(generator.good_events(count, seed=104), share=0.01, seed=4)
    documents, late = generator.disordered(base, seed=4)
    settings = soak_settings(broker.settings, home, "disorder.")
    asyncio.run(ensure_topics(settings))
    row = Row("4 disorder (72 h) + 1% very late", events=len(documents))
    started = time.monotonic()
    worker = start_worker(settings)
    try:
        publish(settings, documents)
        wait_caught_up(worker, unique_events(documents), expected_claims(documents))
        row.seconds = time.monotonic() - started
        check = check_against_oracle(settings, worker, documents)
        fill(row, check)
        sample = sorted(late)[:50]
        kept = sum(1 for event_id in sample if worker.get(f"/events/{event_id}")["event_id"] == event_id)
        row.dlq = len(dead_letters(settings))
        row.note = (
            f"{len(late)} very late events (30-365 days), all in the history;"
            f" {kept}/{len(sample)} sampled by id"
        )
        assert kept == len(sample)
        assert row.dlq == 0
        assert_ok(check)
        row.passed = True
    finally:
        worker.stop()
        summary.add(row)


# 5 --------------------------------------------------------------------------------


def test_duplicates_change_nothing(broker: LocalBroker, home: Path, summary: Summary) -> None:
    count = sized(10_000)
    documents = generator.good_events(count, seed=105)
    copies = generator.duplicated(documents, seed=5)
    row = Row("5 duplicates (x2, 5% x3)", events=len(copies))
    started = time.monotonic()
    answers = {}
    for name, stream in (("once", documents), ("copies", copies)):
        settings = soak_settings(broker.settings, home / name, f"dup-{name}.")
        asyncio.run(ensure_topics(settings))
        worker = start_worker(settings)
        try:
            publish(settings, stream)
            wait_caught_up(worker, count, expected_claims(documents))
            check = check_against_oracle(settings, worker, documents)
            raw_changes = len(read_changes(settings))
            answers[name] = (without_recorded_at(worker.items("/stances")), check, raw_changes)
            row.dlq += len(dead_letters(settings))
        finally:
            worker.stop()
    row.seconds = time.monotonic() - started
    stances_once, _, _ = answers["once"]
    stances_copies, check, raw = answers["copies"]
    fill(row, check)
    row.duplicate_changes += raw - check.changes.distinct
    row.note = (
        f"stances equal to the single run: {stances_once == stances_copies};"
        f" raw changes {raw:,}, distinct {check.changes.distinct:,}"
    )
    try:
        assert stances_once == stances_copies
        assert raw == check.changes.distinct, "a duplicate event produced a duplicate change"
        assert row.dlq == 0
        assert_ok(check)
        row.passed = True
    finally:
        summary.add(row)


def without_recorded_at(stances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stances without the publication stamp: the two runs published at different moments."""
    return [{k: v for k, v in stance.items() if k != "recorded_at"} for stance in stances]


def read_changes(settings: Settings) -> list[Any]:
    return asyncio.run(read_all(settings, settings.topics.stance_changes, timeout=120))


# 6 --------------------------------------------------------------------------------


def test_broker_restarts_mid_stream(home: Path, summary: Summary) -> None:
    """A broker of its own, stopped with SIGTERM and later killed with SIGKILL mid-stream."""
    count = sized(30_000)
    documents = generator.good_events(count, seed=106)
    own = LocalBroker(broker_settings(home / "broker"))
    own.start()
    settings = soak_settings(own.settings, home / "run", "bounce.")
    asyncio.run(ensure_topics(settings))
    row = Row("6 broker restart (TERM, KILL)", events=count)
    started = time.monotonic()
    worker = start_worker(settings)
    feed = BackgroundPublisher(settings, documents, rate=max(200.0, count / 60)).start()
    outages = []
    try:
        for how in ("SIGTERM", "SIGKILL"):
            time.sleep(15)
            down = time.monotonic()
            own.stop() if how == "SIGTERM" else own.kill()
            time.sleep(3)
            own.start()
            outages.append(time.monotonic() - down)
            row.kills += 1
            print(f"[soak]   broker {how}: back after {outages[-1]:.1f}s", flush=True)
        feed.join()
        wait_caught_up(worker, count, expected_claims(documents))
        row.seconds = time.monotonic() - started
        check = check_against_oracle(settings, worker, documents)
        fill(row, check)
        row.dlq = len(dead_letters(settings))
        row.recover_s = max(outages)
        row.note = f"publisher chunks re-sent: {feed.retries}; the worker process never restarted"
        assert worker.process is not None and worker.process.poll() is None
        assert row.dlq == 0
        assert_ok(check)
        row.passed = True
    finally:
        worker.stop()
        own.stop()
        summary.add(row)


# 7 --------------------------------------------------------------------------------


def test_cold_restart_rebuilds_from_the_changelog(broker: LocalBroker, home: Path, summary: Summary) -> None:
    count = sized(50_000)
    documents, settings = scenario(broker.settings, home, "cold.", count, seed=107)
    row = Row("7 cold restart (state wiped)", events=count)
    started = time.monotonic()
    worker = start_worker(settings)
    try:
        publish(settings, documents)
        wait_caught_up(worker, count, expected_claims(documents))
        truth = worker.get("/state/hash")
        probe_actor = documents[0]["stances"][0]["actor_id"]
        probe_truth = worker.items(f"/actors/{probe_actor}/stances")
        kill_9(worker)
        shutil.rmtree(settings.home / "workers", ignore_errors=True)
        answers: Counter[str] = Counter()
        wrong: list[Any] = []
        restarted = time.monotonic()
        worker = WorkerProcess(settings, settings.home).start()
        ready_after = None
        while time.monotonic() - restarted < 180:
            try:
                state = worker.get("/state/hash")
                stances = worker.items(f"/actors/{probe_actor}/stances")
                answers["200"] += 1
                if state != truth or stances != probe_truth:
                    wrong.append(state)
                ready_after = ready_after or time.monotonic() - restarted
                if answers["200"] >= 20:
                    break
            except QueryError as error:
                answers["503" if "503" in str(error) else "no answer yet"] += 1
            time.sleep(0.05)
        row.seconds = time.monotonic() - started
        row.recover_s = ready_after
        check = check_against_oracle(settings, worker, documents)
        fill(row, check)
        row.mismatches += len(wrong)
        row.note = (
            f"{truth['stances']:,} stances; answers while recovering: {dict(answers)}; wrong 0"
            if not wrong
            else f"WRONG answers: {len(wrong)}"
        )
        assert ready_after is not None, "never served again"
        assert not wrong
        assert_ok(check)
        row.passed = True
    finally:
        worker.stop()
        summary.add(row)


# 8 --------------------------------------------------------------------------------


def test_two_workers_and_churn(broker: LocalBroker, home: Path, summary: Summary) -> None:
    count = sized(40_000)
    documents, settings = scenario(broker.settings, home, "churn.", count, seed=108)
    row = Row("8 two workers and churn", events=count)
    started = time.monotonic()
    first = start_worker(settings)
    second: WorkerProcess | None = None
    feed = BackgroundPublisher(settings, documents, rate=max(200.0, count / 60)).start()
    try:
        time.sleep(12)
        second = start_worker(with_port(settings))  # a worker joins
        time.sleep(12)
        first.stop()  # one leaves
        time.sleep(8)
        first = start_worker(with_port(settings))  # and one comes back
        row.kills = 3
        feed.join()
        claims = expected_claims(documents)
        wait_caught_up(first, count, claims)
        wait_caught_up(second, count, claims)
        row.seconds = time.monotonic() - started
        check = check_against_oracle(settings, first, documents)
        fill(row, check)
        other = check_against_oracle(settings, second, documents)
        row.mismatches += len(other.mismatches)
        hashes = {first.get("/state/hash")["sha256"], second.get("/state/hash")["sha256"]}
        row.dlq = len(dead_letters(settings))
        row.note = "membership changes: join, leave, join; both workers serve the same state hash: " + str(
            len(hashes) == 1
        )
        assert len(hashes) == 1
        assert row.dlq == 0
        assert_ok(check)
        assert not other.mismatches
        row.passed = True
    finally:
        first.stop()
        if second is not None:
            second.stop()
        summary.add(row)


# 9: tests/soak/test_digest_faults.py


# 10 -------------------------------------------------------------------------------


def test_limits_oversized_events_and_a_subscriber_far_behind(
    broker: LocalBroker, home: Path, summary: Summary, repo: Path
) -> None:
    count = sized(20_000)
    documents = generator.good_events(count, seed=110)
    settings = soak_settings(broker.settings, home, "limits.")
    topics = settings.topics
    asyncio.run(ensure_topics(settings))
    row = Row("10 limits: oversized, subscriber far behind", events=count)
    started = time.monotonic()
    quote = {"actor_id": "bench-actor-0000", "text": "q" * 3_900}
    huge = dict(documents[0], event_id="huge-1", summary="z" * 9_000, quotes=[quote] * 80)
    # The SDK refuses it with a clear error ...
    with pytest.raises(InvalidEventError) as refused:
        publish(settings, [huge])
    # ... and so does the CLI, with exit code 1.
    path = home / "huge.jsonl"
    path.write_bytes(generator.encode(huge) + b"\n")
    cli = subprocess.run(
        [sys.executable, "-m", "streams.cli", "publish", str(path)],
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    worker = start_worker(settings)
    try:
        # A subscriber reads a little, commits and goes away ...
        publish(settings, documents[:200])
        group = "far-behind"
        early = asyncio.run(take_changes(settings, group, 20))
        # ... the stream goes on (with an oversized record from a raw client) ...
        asyncio.run(
            send_raw(settings, topics.events, [(b"huge-2", generator.encode(dict(huge, event_id="huge-2")))])
        )
        publish(settings, documents[200:])
        wait_caught_up(worker, count, expected_claims(documents))
        check = check_against_oracle(settings, worker, documents)
        fill(row, check)
        distinct = check.changes.distinct
        # ... and it comes back far behind, and catches up.
        caught_up_started = time.monotonic()
        late = asyncio.run(take_changes(settings, group, distinct - len(early), timeout=300))
        catch_up = time.monotonic() - caught_up_started
        row.seconds = time.monotonic() - started
        letters = dead_letters(settings)
        row.dlq = len(letters)
        reasons = {r.key: header(r, "dlq.reason") for r in letters}
        row.note = (
            f"publisher: {str(refused.value)[:70]!r}; CLI exit {cli.returncode};"
            f" raw oversized -> DLQ {reasons.get(b'huge-2')}; subscriber caught up"
            f" {len(late):,} changes in {catch_up:.1f}s"
        )
        assert "bytes" in str(refused.value)
        assert cli.returncode == 1 and "bytes" in cli.stderr + cli.stdout, cli.stderr
        assert reasons == {b"huge-2": "oversized"}
        assert len(early) + len(late) == distinct
        assert not set(early) & set(late)
        assert_ok(check)
        row.passed = True
    finally:
        worker.stop()
        summary.add(row)


async def take_changes(settings: Settings, group: str, count: int, timeout: float = 60) -> list[str]:
    """`count` changes through a `timeline subscribe`-style group consumer, committed."""
    received: list[str] = []
    async with Subscriber(settings, group_id=group, start="earliest") as subscriber:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(received) < count:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"only {len(received)} of {count} changes arrived"
            change = await subscriber.next_change(timeout=min(5, left))
            if change is not None:
                received.append(change.change_id)
        await subscriber.commit()
    return received


# 11 -------------------------------------------------------------------------------


def test_replay_is_deterministic(broker: LocalBroker, home: Path, summary: Summary) -> None:
    count = sized(50_000)
    documents = generator.with_retractions(generator.good_events(count, seed=111), share=0.01, seed=11)
    settings = soak_settings(broker.settings, home, "replay.")
    asyncio.run(ensure_topics(settings))
    row = Row("11 replay determinism", events=len(documents))
    started = time.monotonic()
    worker = start_worker(settings)
    try:
        publish(settings, documents)
        wait_caught_up(worker, unique_events(documents), expected_claims(documents))
        live = worker.get("/state/hash")["sha256"]
        registry = load_registry(settings.registry_files)
        first = asyncio.run(rebuild(settings, registry))
        second = asyncio.run(rebuild(settings, registry, processes=1))
        shuffled = sorted(logged_events(settings).items())
        random.Random(11).shuffle(shuffled)
        replay = replay_of(settings, shuffled)
        row.seconds = time.monotonic() - started
        hashes = {
            "live": live,
            "rebuild 1": first.sha256,
            "rebuild 2": second.sha256,
            "shuffled": replay.hash(settings.partitions),
        }
        row.mismatches = len(set(hashes.values())) - 1
        row.note = (
            f"sha256 {live[:16]}… equal for live, two rebuilds ({first.events / first.seconds:,.0f} ev/s)"
            " and a shuffled in-memory replay"
            if row.mismatches == 0
            else f"hashes differ: {hashes}"
        )
        assert row.mismatches == 0, hashes
        row.passed = True
    finally:
        worker.stop()
        summary.add(row)
