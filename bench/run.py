"""`make bench`: the pipeline against the raw client, idiomatic faust and Quix Streams, in one run.

Starts its own broker (like `make run`), generates the same synthetic events
for every pipeline, measures, and writes bench/results/latest.json, a table
on stdout and bench/results/latest.png. The replay log then serves the state
at scale (`bench/state.py`: backfill, recovery, RSS, disk, queries on two
workers). `--quick` runs the same code on small numbers (about two minutes),
so `make test` keeps the benchmark from rotting; nothing here asserts a time.
`--state-events N` sizes the replay log and the state (a medium run).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import (
    HERE,
    REPO,
    STARTED,
    Written,
    env_for,
    free_port,
    fresh_settings,
    get,
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
)
from bench.generate import ACTORS, ISSUES, actor_id, events, issue_id
from bench.state import measure_state, publish_log
from streams.clients.publisher import Publisher
from streams.collector import fewer_collections
from streams.kafka.local_broker import LocalBroker
from streams.kafka.metadata import topic_partitions
from streams.registry_files import load_registry
from streams.replay.memory import Replay
from streams.replay.rebuild import rebuild
from streams.settings import Settings
from streams.topics import ensure_topics

__all__ = [
    "REPO",
    "STARTED",
    "env_for",
    "free_port",
    "fresh_settings",
    "get",
    "health",
    "peak_rss_mib",
    "percentile",
    "produce",
    "rss_mib",
    "say",
    "start_worker",
]


async def raw_consume(settings: Settings, topic: str, expected: int) -> float:
    """Baseline (a): getmany + orjson.loads; events/s."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        count = 0
        started = time.perf_counter()
        while count < expected:
            for records in (await consumer.getmany(timeout_ms=500, max_records=10000)).values():
                for record in records:
                    orjson.loads(record.value)
                    count += 1
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def run_baseline(module: str, args: list[str], result: Path, timeout: float) -> float:
    """Run a baseline process until it writes its result; events/s first to last event."""
    result.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while not result.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{module} stopped or timed out before reporting")
            time.sleep(0.2)
        time.sleep(0.2)
        outcome = json.loads(result.read_text())
        return float(outcome["events"] / outcome["seconds"])
    finally:
        if process.poll() is None:
            process.kill()  # its figure is in; a faust worker can take long to shut down
            process.wait()


async def wait_for_worker(
    settings: Settings, expected_events: int, expected_claims: int, timeout: float
) -> float:
    """Seconds until the worker is ready (/health) and has written every event and claim to the
    changelogs (`Written`; each is written when its step ends), polled every 100 ms."""
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while await health(session, settings) is None:
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"the worker was not ready within {timeout:.0f}s")
            await asyncio.sleep(0.1)
    return await wait_written(settings, expected_events, expected_claims, started, timeout)


LATENCY_RUNS = 3
"""The latency figure moves from run to run (the worker runs near its capacity): the median run counts."""


def latency_summary(runs: list[list[float]], sent: int) -> dict[str, Any]:
    """p50 and p99 of the median run (by p99), each run's figures, and that run's delays for the plot."""
    figures = [{"p50": percentile(d, 0.5), "p99": percentile(d, 0.99), "samples": len(d)} for d in runs]
    order = sorted(range(len(runs)), key=lambda index: figures[index]["p99"])
    median = order[len(order) // 2]
    return {**figures[median], "sent": sent, "runs": figures, "all": runs[median]}


async def latency(settings: Settings, rate: int, seconds: float, run: int = 0) -> list[float]:
    """Publish at a steady rate; time from send to the change record being read (ms).

    Each `run` publishes events of its own (other event_ids), so a second run
    measures the same work as the first, not copies of its events. A run ends
    when the worker has taken every event it sent, so that each change is
    timed even where the worker runs below the offered rate (its queue then
    grows, and so do the delays), and the next run starts on an idle worker.
    """
    topics = settings.topics
    async with Written(settings) as written:
        before_events, before_claims = await written.counts()
    consumer = AIOKafkaConsumer(
        topics.stance_changes, bootstrap_servers=settings.bootstrap, auto_offset_reset="latest", group_id=None
    )
    await consumer.start()
    await consumer.seek_to_end()
    await asyncio.sleep(1)
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    total = int(rate * seconds)

    async def read() -> None:
        while len(seen) < total:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                now = time.perf_counter()
                for record in records:
                    event_id = orjson.loads(record.value)["event_id"]
                    if event_id in sent and event_id not in seen:
                        seen[event_id] = now

    reader = asyncio.create_task(read())
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    start = time.perf_counter()
    for number in range(run * total, (run + 1) * total):
        actor, issue = actor_id(number % ACTORS), issue_id(number % ISSUES)
        score = 0.8 if (number // ACTORS) % 2 == 0 else -0.8
        event_id = f"latency-{number:07d}"
        document = {
            "schema_version": 1,
            "event_id": event_id,
            "type": "statement",
            "occurred_at": {"at": f"{2031 + number // 100000}-01-01T00:00:00Z", "precision": "second"},
            "recorded_at": "2026-01-01T00:00:00Z",
            "summary": "latency probe",
            "stances": [
                {
                    "actor_id": actor,
                    "issue_id": issue,
                    "position": "support" if score > 0 else "oppose",
                    "score": score + (number % 7) * 0.01,
                }
            ],
        }
        document["occurred_at"]["at"] = (
            f"{2031 + number // ACTORS // ISSUES:04d}-01-01T00:{number // 3600 % 60:02d}:{number % 60:02d}Z"
        )
        sent[event_id] = time.perf_counter()
        await producer.send(topics.events, orjson.dumps(document), key=event_id.encode())
        await asyncio.sleep(max(0.0, start + (number - run * total + 1) / rate - time.perf_counter()))
    await producer.stop()
    # Every probe event adds one claim: wait until the worker has written them all.
    await wait_for_worker(settings, before_events + total, before_claims + total, timeout=600)
    # Not every event changes a stance: wait until no new change has come for 2 s (30 s at most).
    deadline = time.perf_counter() + 30
    while not reader.done() and time.perf_counter() < deadline:
        before = len(seen)
        await asyncio.sleep(2)
        if len(seen) == before:
            break
    reader.cancel()
    await consumer.stop()
    return sorted((seen[event_id] - sent[event_id]) * 1000 for event_id in seen)


async def query_latency(settings: Settings, requests: int, concurrency: int = 16) -> list[float]:
    """/actors/{id}/stances of every synthetic actor in turn; sorted ms (`bench/profile_live.py`)."""
    paths = [f"/actors/{actor_id(number)}/stances" for number in range(ACTORS)]
    return await timed_gets(settings.api, paths, requests, concurrency)


async def history_ratio(registry: Any, count: int) -> tuple[float, float]:
    """Fold throughput with 10 claims per key vs 10,000 claims per key (same code, in memory)."""
    rates = []
    for keys in (count // 10, max(1, count // 10000)):
        payloads = list(events(count, seed=11, keys=keys))
        replay = Replay(registry)
        with fewer_collections():  # as `timeline rebuild` runs the same code
            started = time.perf_counter()
            for payload in payloads:
                await replay.feed(None, payload, 0)
            rates.append(count / (time.perf_counter() - started))
        del replay
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small numbers, seconds: checks the bench runs")
    parser.add_argument(
        "--state-events",
        type=int,
        default=None,
        help="events in the replay log and the served state (default 1,000,000; 5,000 with --quick);"
        " e.g. 200000 for a medium run",
    )
    options = parser.parse_args()
    live_n, replay_n, publish_n = (2_000, 5_000, 2_000) if options.quick else (20_000, 1_000_000, 30_000)
    replay_n = options.state_events or replay_n
    latency_s, query_n, history_n = (2.0, 500, 20_000) if options.quick else (10.0, 10_000, 20_000)
    home = REPO / ".timeline" / ("bench-quick" if options.quick else "bench")
    settings = fresh_settings(home, "bench.")
    broker = LocalBroker(settings, say=say)
    broker.start()
    results: dict[str, Any] = {}
    try:
        results = asyncio.run(
            measure(
                settings,
                live_n,
                replay_n,
                publish_n,
                latency_s,
                query_n,
                history_n,
                home,
                900 if options.quick else 1800,
            )
        )
    finally:
        broker.stop()
    results["machine"] = (
        f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    results["broker"] = "kafka 4.1.2"
    results["quick"] = options.quick
    if options.quick:
        out = HERE / "results" / "quick.json"
    elif options.state_events is None:
        out = HERE / "results" / "latest.json"
    else:  # another size is not the bench's figure: kept out of bench/results (and of git)
        out = home / f"results-{replay_n}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    draw(results, out.with_suffix(".png"))
    say(f"wrote {out} and {out.with_suffix('.png')}")


async def measure(
    settings: Settings,
    live_n: int,
    replay_n: int,
    publish_n: int,
    latency_s: float,
    query_n: int,
    history_n: int,
    home: Path,
    step_timeout: float,
) -> dict[str, Any]:
    registry = load_registry(settings.registry_files)
    await ensure_topics(settings)
    topics = settings.topics
    live_events = list(events(live_n, seed=1))

    say(f"publisher: {publish_n} events, publish_many with validation vs raw producer")
    pub_settings = settings.model_copy(update={"topic_prefix": "benchpub."})
    raw_settings = settings.model_copy(update={"topic_prefix": "benchraw."})
    await ensure_topics(pub_settings)
    await ensure_topics(raw_settings)
    sample = list(events(publish_n, seed=2))
    async with Publisher(pub_settings, registry) as publisher:
        started = time.perf_counter()
        await publisher.publish_many(sample)
        publish_rate = publish_n / (time.perf_counter() - started)
    raw_producer_rate = await produce(raw_settings, raw_settings.topics.events, sample)

    say(f"live ingest: {live_n} events")
    await produce(settings, topics.events, live_events)
    raw_rate = await raw_consume(settings, topics.events, live_n)
    faust_rate = run_baseline(
        "bench.baselines.faust_idiomatic",
        [
            settings.bootstrap,
            topics.events,
            str(live_n),
            str(home / "faust.json"),
            "bench-faust-idiomatic",
            str(home / "faust-data"),
        ],
        home / "faust.json",
        timeout=900,
    )
    say(f"idiomatic faust: {faust_rate:,.0f}/s")
    quix_rate = run_baseline(
        "bench.baselines.quix_fold",
        [
            settings.bootstrap,
            topics.events,
            str(live_n),
            str(home / "quix.json"),
            "bench-quix-live",
            str(home / "quix-state"),
        ],
        home / "quix.json",
        timeout=900,
    )
    say(f"quix streams: {quix_rate:,.0f}/s")
    # Ours: a worker started on empty topics of its own, then the same events produced into them;
    # timed from the first send until it has written every event and claim to the changelogs.
    live_settings = settings.model_copy(update={"topic_prefix": "benchlive."})
    await ensure_topics(live_settings)
    worker = start_worker(live_settings, home)
    try:
        await wait_for_worker(live_settings, 0, 0, timeout=120)
        await asyncio.sleep(3)  # let the consumer group settle before the clock starts
        started = time.perf_counter()
        await produce(live_settings, live_settings.topics.events, live_events)
        await wait_for_worker(live_settings, live_n, live_n, timeout=1800)
        ours = live_n / (time.perf_counter() - started)
        say(f"ours: {ours:,.0f}/s")

        say(f"latency at a steady 1,000 events/s, {LATENCY_RUNS} runs")
        latency_runs = [await latency(live_settings, 1000, latency_s, run) for run in range(LATENCY_RUNS)]
    finally:
        stop_worker(worker)

    say(f"replay: {replay_n} events")
    replay_settings = settings.model_copy(update={"topic_prefix": "benchreplay."})
    await ensure_topics(replay_settings)
    replay_topic = replay_settings.topics.events
    await publish_log(replay_settings, replay_n)
    result = await rebuild(replay_settings, registry)
    rebuild_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gc.collect()  # 1M events of state: released before the measurements that follow
    replay_quix = run_baseline(
        "bench.baselines.quix_fold",
        [
            settings.bootstrap,
            replay_topic,
            str(replay_n),
            str(home / "quix-replay.json"),
            "bench-quix-replay",
            str(home / "quix-replay-state"),
        ],
        home / "quix-replay.json",
        timeout=1800,
    )
    replay_rate = result.events / result.seconds

    # The state at scale, on the replay log: backfill, recovery, RSS and disk, queries (bench/state.py).
    state = await measure_state(
        replay_settings, home, result.events, result.events // 10, query_n, step_timeout
    )

    say("history: 10 vs 10,000 claims per key")
    short, long = await history_ratio(registry, history_n)
    return {
        "ingest": {
            "events": live_n,
            "events_per_s": ours,
            "raw_events_per_s": raw_rate,
            "faust_idiomatic_events_per_s": faust_rate,
            "quixstreams_events_per_s": quix_rate,
            "ratio_vs_raw": ours / raw_rate,
            "ratio_vs_faust_idiomatic": ours / faust_rate,
            "ratio_vs_quixstreams": ours / quix_rate,
        },
        "replay": {
            "events": result.events,
            "seconds": result.seconds,
            "events_per_s": replay_rate,
            "quixstreams_events_per_s": replay_quix,
            "ratio_vs_quixstreams": replay_rate / replay_quix,
            "rebuild_peak_rss_mib": rebuild_rss,
        },
        "publish": {
            "events_per_s": publish_rate,
            "raw_producer_events_per_s": raw_producer_rate,
            "ratio_vs_raw_producer": publish_rate / raw_producer_rate,
        },
        "latency_ms": {**latency_summary(latency_runs, int(1000 * latency_s)), "offered_events_per_s": 1000},
        "query_ms": state["query_ms"],
        "history": {
            "short_events_per_s": short,
            "long_events_per_s": long,
            "ratio_long_vs_short": long / short,
        },
        "memory": state["memory"],
        "backfill": state["backfill"],
        "recovery": state["recovery"],
    }


def ms(figures: dict[str, Any], prefix: str = "") -> str:
    return f"p50 {figures[prefix + 'p50']:.1f} ms, p99 {figures[prefix + 'p99']:.1f} ms"


def state_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The state at scale (bench/state.py): backfill, recovery, memory, disk, queries."""
    backfill, recovery, memory, query = (
        results["backfill"],
        results["recovery"],
        results["memory"],
        results["query_ms"],
    )
    owner = "from the owning worker" if query["owner_known"] else "owner unknown (no partitions in /health)"
    routed = (
        "through the worker that does not own the actor"
        if query["owner_known"]
        else "every actor through the second worker"
    )
    return [
        (
            "backfill (rebuild --write)",
            f"{backfill['events_per_s']:,.0f} events/s",
            f"{backfill['events']:,} in {backfill['seconds']:.0f} s wall, process start included",
        ),
        (
            "recovery (empty data dir)",
            f"{recovery['seconds']:.0f} s",
            f"until a worker serves {recovery['events']:,} events"
            f" ({recovery['half_events']:,}: {recovery['half_seconds']:.0f} s)",
        ),
        (
            "worker peak RSS",
            f"{memory['worker_peak_rss_mib']:,.0f} MiB",
            f"serving {memory['state_events']:,} events: {memory['backfilled_events']:,} recovered, then"
            f" {memory['live_events']:,} live at {memory['live_events_per_s']:,.0f}/s (goal < 1 GiB)"
            + ("" if memory["complete"] else "; INCOMPLETE"),
        ),
        (
            "  RSS per event",
            f"{memory['rss_bytes_per_event']:,.0f} bytes",
            f"{memory['rss_mib_at_half']:,.0f} MiB at {memory['half_events']:,},"
            f" {memory['rss_mib_at_full']:,.0f} MiB at {memory['full_events']:,} events (goal < 100)",
        ),
        (
            "  stores on disk",
            f"{memory['disk_bytes_per_event']:,.0f} bytes/event",
            f"{memory['disk_bytes_at_full'] / 1e6:,.0f} MB at {memory['full_events']:,} events",
        ),
        ("query floor GET /ping", ms(query, "floor_"), "16 concurrent clients, idle worker, as each below"),
        (
            "query /actors/{id}/stances",
            ms(query),
            f"{owner}: {query['ratio_p99_vs_floor']:.2f}x the floor (goal <= 1.5x)",
        ),
        (
            "  routed",
            ms(query, "routed_"),
            f"{routed}: {query['ratio_routed_p99_vs_floor']:.2f}x the floor (goal <= 3x)",
        ),
        (
            "  /issues/{id}/stances",
            ms(query, "matrix_"),
            f"{query['matrix_requests']:,} requests, gathered from {query['workers']} workers",
        ),
    ]


def table(results: dict[str, Any]) -> str:
    ingest, replay, publish = results["ingest"], results["replay"], results["publish"]
    rows = [
        ("live ingest, ours", f"{ingest['events_per_s']:,.0f} events/s", "goal >= 10,000"),
        (
            "  raw aiokafka consume (limit)",
            f"{ingest['raw_events_per_s']:,.0f} events/s",
            f"ours = {ingest['ratio_vs_raw']:.3f}x",
        ),
        (
            "  idiomatic faust",
            f"{ingest['faust_idiomatic_events_per_s']:,.0f} events/s",
            f"ours = {ingest['ratio_vs_faust_idiomatic']:.2f}x (goal >= 3x)",
        ),
        (
            "  Quix Streams",
            f"{ingest['quixstreams_events_per_s']:,.0f} events/s",
            f"ours = {ingest['ratio_vs_quixstreams']:.2f}x (goal >= 0.3x)",
        ),
        (
            "replay (timeline rebuild)",
            f"{replay['events_per_s']:,.0f} events/s",
            f"{replay['events']:,} in {replay['seconds']:.1f}s (goal >= 50,000/s)",
        ),
        (
            "  Quix Streams replay",
            f"{replay['quixstreams_events_per_s']:,.0f} events/s",
            f"ours = {replay['ratio_vs_quixstreams']:.2f}x (goal >= 1x)",
        ),
        (
            "publish_many (validated)",
            f"{publish['events_per_s']:,.0f} events/s",
            f"{publish['ratio_vs_raw_producer']:.2f}x raw producer (goal >= 0.7)",
        ),
        (
            "latency publish->change",
            f"p50 {results['latency_ms']['p50']:.1f} ms, p99 {results['latency_ms']['p99']:.1f} ms",
            "goal p99 < 100 ms; the median run of p99 "
            + ", ".join(f"{p99:.0f}" for p99 in sorted(run["p99"] for run in results["latency_ms"]["runs"]))
            + " ms"
            + (
                f"; offered {offered:,}/s, above the worker's {ingest['events_per_s']:,.0f}/s here:"
                " its queue grows"
                if (offered := results["latency_ms"].get("offered_events_per_s", 0)) > ingest["events_per_s"]
                else ""
            ),
        ),
        ("history 10k vs 10 per key", f"{results['history']['ratio_long_vs_short']:.2f}x", "goal within 2x"),
        *state_rows(results),
    ]
    width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    return "\n".join(f"{name.ljust(width)}  {value.ljust(value_width)}  {note}" for name, value, note in rows)


def draw(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ingest = results["ingest"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = [
        "raw consume",
        "ours (live)",
        "idiomatic faust",
        "Quix Streams",
        "ours (replay)",
        "Quix (replay)",
    ]
    values = [
        ingest["raw_events_per_s"],
        ingest["events_per_s"],
        ingest["faust_idiomatic_events_per_s"],
        ingest["quixstreams_events_per_s"],
        results["replay"]["events_per_s"],
        results["replay"]["quixstreams_events_per_s"],
    ]
    left.barh(names, values, color=["#98a2b3", "#1570ef", "#f79009", "#12b76a", "#1570ef", "#12b76a"])
    left.set_xscale("log")
    left.set_xlabel("events per second (log)")
    left.set_title("Throughput per pipeline")
    delays = results["latency_ms"]["all"]
    right.hist(delays, bins=40, color="#1570ef")
    right.set_xlabel("publish -> stance change (ms)")
    right.set_title(
        f"Latency at 1,000 events/s (p50 {results['latency_ms']['p50']:.0f}, "
        f"p99 {results['latency_ms']['p99']:.0f} ms)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
