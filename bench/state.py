"""The state at scale: a backfilled state of N events (1,000,000 in `make bench`), recovered and served.

What a user loading a long history does (docs/state.md, "Backfill"), timed:

1. **Half the state.** The first N/2 events of the replay log, published
   under a topic prefix of their own, backfilled (`timeline rebuild --write`),
   then a worker started on an empty data directory recovers them from the
   changelogs: its RSS and its stores' size on disk at N/2.
2. **The whole state.** The replay log (N events, published by the replay
   step) backfilled: `backfill.events_per_s`, wall time of the process. A
   worker from an empty data directory until it serves the state (/health
   ready, /state/hash's totals complete): `recovery.seconds`, and its RSS and
   disk at N (the slope from N/2 gives `memory.rss_bytes_per_event`). Then
   N/10 more events live; its peak RSS after them is
   `memory.worker_peak_rss_mib`.
3. **Queries on two workers.** The worker is stopped, a second worker's data
   directory is a copy of its stores (so it need not recover again), and both
   start in one group. Once the partitions are split (each /health lists the
   partitions its worker serves), on the idle workers, through the first one,
   16 concurrent clients as in the live step: `GET /ping` (the HTTP floor),
   `/actors/{id}/stances` of actors it owns and of actors the other owns
   (routed), `/issues/{id}/stances` (gathered from both).

`--quick` runs the same steps on small numbers. Nothing here asserts a time.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    REPO,
    Written,
    env_for,
    free_port,
    health,
    peak_rss_mib,
    percentile,
    produce,
    rss_mib,
    say,
    start_worker,
    stop_worker,
    timed_gets,
    wait_written,
    worker_datadir,
)
from bench.generate import ACTORS, ISSUES, actor_id, events, issue_id
from streams.kafka.partitioner import partition_of
from streams.settings import Settings
from streams.topics import ensure_topics

LOG_CHUNK = 200_000
LIVE_SEED = 9
"""The live events' seed: event_ids of their own (`bench-9-…`), none in the log."""
SETTLE_S = 3.0
"""Idle seconds between a worker serving its state and the reading of its RSS."""
MiB = 1024 * 1024


def log_chunks(count: int) -> Iterator[list[bytes]]:
    """The replay log's events in chunks; the first `k` events of any length's log are the same."""
    for start in range(0, count, LOG_CHUNK):
        yield list(events(min(LOG_CHUNK, count - start), seed=100 + start))


async def publish_log(settings: Settings, count: int) -> None:
    for chunk in log_chunks(count):
        await produce(settings, settings.topics.events, chunk)


def disk_bytes(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


def backfill(settings: Settings, timeout: float) -> dict[str, Any]:
    """`timeline rebuild --write` in a process of its own: its summary and wall seconds (start included)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "rebuild", "--write", "--json"],
        env=env_for(settings),
        cwd=REPO,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"timeline rebuild --write failed ({done.returncode}): {error}")
    summary = json.loads(done.stdout)
    return {
        "events": summary["events"],
        "seconds": seconds,
        "events_per_s": summary["events"] / seconds,
        "fold_seconds": summary["seconds"],
        "records_written": sum(summary["written"].values()),
    }


async def state_counts(session: aiohttp.ClientSession, api: str) -> dict[str, int] | None:
    """/state/hash's totals (gathered from every worker), or None while it does not answer them."""
    try:
        async with session.get(f"{api}/state/hash", timeout=aiohttp.ClientTimeout(total=600)) as response:
            if response.status != 200:
                return None
            body = await response.json()
            return {name: int(body[name]) for name in ("events", "stances", "claims")}
    except (aiohttp.ClientError, TimeoutError):
        return None


async def wait_served(
    worker: subprocess.Popen[bytes], settings: Settings, events: int, since: float, timeout: float
) -> dict[str, Any]:
    """Wait until the worker is ready (/health) and serves `events` events and claims (/state/hash).

    Every synthetic event holds one claim. /health (cheap) is polled every
    half second; once it says ready, /state/hash (which reads the whole state)
    is asked. `seconds` is when the request that found the state complete was
    sent; `ready_seconds` when /health first said ready.
    """
    ready_at: float | None = None
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - since < timeout:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker on port {settings.web_port} stopped ({worker.returncode})")
            state = await health(session, settings)
            if state is not None and state.get("ready", True):
                ready_at = ready_at or time.perf_counter()
                asked = time.perf_counter()
                counts = await state_counts(session, settings.api)
                if counts and counts["events"] >= events and counts["claims"] >= events:
                    return {"seconds": asked - since, "ready_seconds": ready_at - since, **counts}
            await asyncio.sleep(0.5)
    raise RuntimeError(f"worker {settings.web_port}: {events:,} events not served in {timeout:.0f}s")


async def recover(
    settings: Settings, home: Path, events: int, timeout: float
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """A worker on an empty data directory, until it serves `events`; its RSS and disk then."""
    datadir = worker_datadir(settings)
    shutil.rmtree(datadir, ignore_errors=True)
    started = time.perf_counter()
    worker = start_worker(settings, home, f"worker-{settings.web_port}.log")
    try:
        served = await wait_served(worker, settings, events, started, timeout)
        await asyncio.sleep(SETTLE_S)
        return worker, {
            **served,
            "rss_mib": rss_mib(worker.pid),
            "peak_rss_mib": peak_rss_mib(worker.pid),
            "disk_bytes": disk_bytes(datadir),
        }
    except BaseException:
        stop_worker(worker)
        raise


def partitions_in(answer: dict[str, Any]) -> set[int] | None:
    """The partitions a worker's /health says it serves (ints, or objects with a `partition`)."""
    listed = answer.get("partitions")
    if listed is None:
        return None
    return {int(item["partition"]) if isinstance(item, dict) else int(item) for item in listed}


async def split_partitions(
    workers: list[subprocess.Popen[bytes]], settings: list[Settings], count: int, timeout: float
) -> list[set[int]] | None:
    """Wait until every worker is ready and the partitions are split between them (disjoint, all
    covered, unchanged for 3 s); each worker's set, or None when /health does not list them."""
    started = time.perf_counter()
    stable_since: float | None = None
    last: list[set[int]] | None = None
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - started < timeout:
            for worker, one in zip(workers, settings, strict=True):
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker on port {one.web_port} stopped ({worker.returncode})")
            answers = [await health(session, one) for one in settings]
            if all(answer is not None and answer.get("ready", True) for answer in answers):
                owned = [partitions_in(answer) for answer in answers]
                if any(sets is None for sets in owned):
                    await asyncio.sleep(10)  # no list to watch: give the rebalance time to settle
                    return None
                sets = [found for found in owned if found is not None]
                covered = sum(map(len, sets)) == count and set().union(*sets) == set(range(count))
                split = covered and all(sets)  # disjoint, all covered, each worker holding some
                if split and sets == last and stable_since is not None:
                    if time.perf_counter() - stable_since >= 3:
                        return sets
                elif split:
                    stable_since, last = time.perf_counter(), sets
                else:
                    stable_since, last = None, None
            await asyncio.sleep(0.5)
    raise RuntimeError(f"the partitions were not split between the workers within {timeout:.0f}s")


def summary_ms(timings: list[float], prefix: str) -> dict[str, float]:
    return {f"{prefix}p50": percentile(timings, 0.5), f"{prefix}p99": percentile(timings, 0.99)}


async def queries(
    first: Settings, second: Settings, owned: list[set[int]] | None, requests: int, matrix_requests: int
) -> dict[str, Any]:
    """The four query figures through `first`, on idle workers."""
    partitions = first.partitions
    actors = [actor_id(number) for number in range(ACTORS)]
    matrix = [f"/issues/{issue_id(number)}/stances" for number in range(ISSUES)]
    if owned is not None:
        mine = [f"/actors/{a}/stances" for a in actors if partition_of(a.encode(), partitions) in owned[0]]
        theirs = [f"/actors/{a}/stances" for a in actors if partition_of(a.encode(), partitions) in owned[1]]
        # Warm-up, untimed: each path once, so the timed runs do not read cold stores.
        warm = ["/ping", *mine, *theirs, *matrix]
        await timed_gets(first.api, warm, len(warm))
        figures: dict[str, Any] = {"owner_known": True}
        figures |= summary_ms(await timed_gets(first.api, ["/ping"], requests), "floor_")
        figures |= summary_ms(await timed_gets(first.api, mine, requests), "")
        figures |= summary_ms(await timed_gets(first.api, theirs, requests), "routed_")
    else:
        # /health lists no partitions: the owner is unknown. Every actor through each worker:
        # each figure then mixes actors the worker owns and actors it does not.
        every = [f"/actors/{a}/stances" for a in actors]
        warm = ["/ping", *every, *matrix]
        for api in (first.api, second.api):
            await timed_gets(api, warm, len(warm))
        figures = {"owner_known": False}
        figures |= summary_ms(await timed_gets(first.api, ["/ping"], requests), "floor_")
        figures |= summary_ms(await timed_gets(first.api, every, requests), "")
        figures |= summary_ms(await timed_gets(second.api, every, requests), "routed_")
    figures |= summary_ms(await timed_gets(first.api, matrix, matrix_requests), "matrix_")
    floor = figures["floor_p99"]
    return {
        **figures,
        "ratio_p99_vs_floor": figures["p99"] / floor,
        "ratio_routed_p99_vs_floor": figures["routed_p99"] / floor,
        "requests": requests,
        "matrix_requests": matrix_requests,
        "concurrency": 16,
        "workers": 2,
        "partitions_of_workers": [sorted(found) for found in owned] if owned is not None else None,
    }


async def two_workers(
    settings: Settings, home: Path, events: int, requests: int, matrix_requests: int, timeout: float
) -> dict[str, Any]:
    """The stopped worker's stores copied to a second worker; both started in one group; queries."""
    second = settings.model_copy(update={"web_port": free_port()})
    shutil.rmtree(worker_datadir(second), ignore_errors=True)
    shutil.copytree(worker_datadir(settings), worker_datadir(second))
    both = [settings, second]
    started = time.perf_counter()
    workers = [start_worker(one, home, f"worker-{one.web_port}.log") for one in both]
    try:
        owned = await split_partitions(workers, both, settings.partitions, timeout)
        async with aiohttp.ClientSession() as session:
            counts = await state_counts(session, settings.api)
        if counts is None or counts["events"] < events:
            raise RuntimeError(f"two workers serve {counts} of {events:,} events")
        ready = time.perf_counter() - started
        say(f"  two workers ready in {ready:.0f} s, partitions {owned}; queries on the idle workers")
        figures = await queries(settings, second, owned, requests, matrix_requests)
        return {**figures, "two_workers_ready_seconds": ready, "served_events": counts["events"]}
    finally:
        for worker in workers:
            stop_worker(worker)


async def measure_state(
    settings: Settings, home: Path, log_events: int, live_events: int, requests: int, timeout: float
) -> dict[str, Any]:
    """Steps 1-3 above. `settings` names the replay step's topics, which hold `log_events` events."""
    half_events = log_events // 2
    half = settings.model_copy(update={"topic_prefix": "benchhalf.", "web_port": free_port()})
    await ensure_topics(half)
    say(f"state: {half_events:,} events published, backfilled, recovered by a worker")
    await publish_log(half, half_events)
    half_backfill = backfill(half, timeout)
    worker, at_half = await recover(half, home, half_events, timeout)
    stop_worker(worker)
    say(
        f"  {half_events:,}: backfill {half_backfill['seconds']:.0f} s, recovery {at_half['seconds']:.0f} s,"
        f" RSS {at_half['rss_mib']:,.0f} MiB, disk {at_half['disk_bytes'] / 1e6:,.0f} MB"
    )

    full = settings.model_copy(update={"web_port": free_port()})
    say(f"state: the {log_events:,}-event replay log backfilled, recovered by a worker")
    full_backfill = backfill(full, timeout)
    say(f"  backfill {full_backfill['events_per_s']:,.0f} events/s ({full_backfill['seconds']:.0f} s wall)")
    worker, at_full = await recover(full, home, log_events, timeout)
    try:
        say(
            f"  recovery {at_full['seconds']:.0f} s, RSS {at_full['rss_mib']:,.0f} MiB,"
            f" disk {at_full['disk_bytes'] / 1e6:,.0f} MB; {live_events:,} more events live"
        )
        async with Written(full) as written:
            base_events, base_claims = await written.counts()
        started = time.perf_counter()
        await produce(full, full.topics.events, list(events(live_events, seed=LIVE_SEED)))
        taken = await wait_written(
            full, base_events + live_events, base_claims + live_events, started, timeout
        )
        live = await wait_served(worker, full, log_events + live_events, started, timeout)
        peak = peak_rss_mib(worker.pid)
        say(f"  peak RSS {peak:,.0f} MiB serving {live['events']:,} events")
    finally:
        stop_worker(worker)

    matrix_requests = max(100, requests // 10)
    say("state: two workers, queries")
    query = await two_workers(full, home, log_events + live_events, requests, matrix_requests, timeout)

    span = at_full["events"] - at_half["events"]
    total = log_events + live_events
    return {
        "memory": {
            "worker_peak_rss_mib": peak,
            "complete": live["events"] >= total and live["claims"] >= total,
            "state_events": live["events"],
            "state_stances": live["stances"],
            "state_claims": live["claims"],
            "backfilled_events": log_events,
            "live_events": live_events,
            "live_seconds": taken,
            "live_events_per_s": live_events / taken,
            "rss_bytes_per_event": (at_full["rss_mib"] - at_half["rss_mib"]) * MiB / span,
            "rss_mib_at_half": at_half["rss_mib"],
            "rss_mib_at_full": at_full["rss_mib"],
            "peak_rss_mib_at_half": at_half["peak_rss_mib"],
            "peak_rss_mib_at_full": at_full["peak_rss_mib"],
            "half_events": at_half["events"],
            "full_events": at_full["events"],
            "disk_bytes_per_event": at_full["disk_bytes"] / at_full["events"],
            "disk_bytes_at_half": at_half["disk_bytes"],
            "disk_bytes_at_full": at_full["disk_bytes"],
            "store": settings.store,
        },
        "backfill": {**full_backfill, "half": half_backfill},
        "recovery": {
            "seconds": at_full["seconds"],
            "ready_seconds": at_full["ready_seconds"],
            "events": at_full["events"],
            "half_seconds": at_half["seconds"],
            "half_events": at_half["events"],
        },
        "query_ms": query,
    }
