"""`make bench`: the pipeline against the raw client, idiomatic faust and Quix Streams, in one run.

Starts its own broker (like `make run`), generates the same synthetic events
for every pipeline, measures, and writes bench/results/latest.json, a table
on stdout and bench/results/latest.png. `--quick` runs the same code on
small numbers (seconds), so `make test` keeps the benchmark from rotting;
nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.generate import ACTORS, ISSUES, actor_id, events, issue_id, write_registry
from streams.clients.publisher import Publisher
from streams.collector import fewer_collections
from streams.kafka.local_broker import LocalBroker
from streams.kafka.metadata import topic_partitions
from streams.registry_files import load_registry
from streams.replay.memory import Replay
from streams.replay.rebuild import rebuild
from streams.settings import Settings
from streams.topics import ensure_topics

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fresh_settings(home: Path, topic_prefix: str) -> Settings:
    """Settings for a run of its own: an emptied home, free ports, the synthetic registry."""
    shutil.rmtree(home, ignore_errors=True)
    return Settings(
        home=home,
        kafka_libs_dir=REPO / ".timeline" / "kafka" / "libs",
        kafka_data_dir=home / "kafka",
        broker_port=free_port(),
        controller_port=free_port(),
        web_port=free_port(),
        topic_prefix=topic_prefix,
        registry_files=[write_registry(home / "registry.yaml")],
    )


STARTED = time.monotonic()
"""When this process started: `say` prefixes each line with the minutes and seconds since."""


def say(message: str) -> None:
    minutes, seconds = divmod(int(time.monotonic() - STARTED), 60)
    print(f"[bench {minutes:02d}:{seconds:02d}] {message}", file=sys.stderr, flush=True)


async def produce(
    settings: Settings, topic: str, payloads: list[bytes], key_field: str = "event_id"
) -> float:
    """Send raw bytes keyed by their `key_field` as fast as the client goes; return events/s."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    started = time.perf_counter()
    try:
        for start in range(0, len(payloads), 5000):
            futures = [
                await producer.send(topic, payload, key=orjson.loads(payload)[key_field].encode())
                for payload in payloads[start : start + 5000]
            ]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(payloads) / (time.perf_counter() - started)


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


def env_for(settings: Settings) -> dict[str, str]:
    return {**os.environ, **settings.environment()}


async def get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        return await response.json() if response.status == 200 else None


async def health(session: aiohttp.ClientSession, settings: Settings) -> Any:
    """The worker's /health (events and claims in its view; O(1), where /state/hash would hash
    it all), or None while it does not answer."""
    try:
        return await get(session, f"{settings.api}/health")
    except aiohttp.ClientError:
        return None


async def wait_for_worker(
    settings: Settings, expected_events: int, expected_claims: int, timeout: float
) -> float:
    """Seconds until the worker's view holds every event and claim (polled every 100 ms)."""
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - started < timeout:
            state = await health(session, settings)
            if state and state["events"] >= expected_events and state["claims"] >= expected_claims:
                return time.perf_counter() - started
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the worker did not catch up within {timeout:.0f}s")


LATENCY_RUNS = 3
"""The latency figure moves from run to run (the worker runs near its capacity): the median run counts."""


def start_worker(settings: Settings, home: Path) -> subprocess.Popen[bytes]:
    """A `timeline worker` process on `settings`, logging to home/worker.log."""
    return subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "worker"],
        env=env_for(settings),
        cwd=REPO,
        stdout=(home / "worker.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def worker_after_log(settings: Settings, count: int, home: Path, budget_s: float) -> dict[str, Any]:
    """Start a worker on a log of `count` events; its peak RSS once its view holds them all.

    The memory goal is about a worker that has taken in a long log (1M events
    in `make bench`); the live run above sees only a few tens of thousands.
    A worker too slow to take the whole log within `budget_s` (a slower
    machine: 584 events/s, 29 minutes for 1M) is stopped there so that the
    bench keeps to its 20 minutes: the figure is then its peak RSS after the
    events it took, with the RSS at the log's end projected from how the RSS
    grew per event (it grows linearly: about 3.5 KB per event).
    """
    worker = start_worker(settings, home)
    try:
        started = time.perf_counter()
        samples: list[tuple[int, float]] = []
        """(events in the worker's view, its RSS in MiB), once a minute (four times in a short budget)."""
        every = min(60.0, budget_s / 4)
        taken = 0
        async with aiohttp.ClientSession() as session:
            while True:
                state = await health(session, settings)
                taken = state["events"] if state else 0
                if state and taken >= count and state["claims"] >= count:
                    break
                elapsed = time.perf_counter() - started
                if elapsed >= budget_s:
                    break
                if state and elapsed >= every * (len(samples) + 1):
                    samples.append((taken, rss_mib(worker.pid)))
                    say(f"  worker: {taken:,} of {count:,} events in its view, RSS {samples[-1][1]:,.0f} MiB")
                await asyncio.sleep(0.5)
        seconds = time.perf_counter() - started
        figures: dict[str, Any] = {
            "worker_peak_rss_mib": peak_rss_mib(worker.pid),
            "after_events": taken,
            "log_events": count,
            "complete": taken >= count,
            "budget_s": budget_s,
            "backlog_seconds": seconds,
            "backlog_events_per_s": taken / seconds,
        }
        if taken < count:
            figures["projected_peak_rss_mib"] = project_rss([*samples, (taken, rss_mib(worker.pid))], count)
        return figures
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(120)


def project_rss(samples: list[tuple[int, float]], count: int) -> float | None:
    """The RSS at `count` events, on the line through the middle and last (events, RSS) samples."""
    (first_events, first_rss), (last_events, last_rss) = samples[len(samples) // 2], samples[-1]
    if last_events <= first_events:
        return None
    per_event = (last_rss - first_rss) / (last_events - first_events)
    return last_rss + per_event * (count - last_events)


def latency_summary(runs: list[list[float]], sent: int) -> dict[str, Any]:
    """p50 and p99 of the median run (by p99), each run's figures, and that run's delays for the plot."""
    figures = [{"p50": percentile(d, 0.5), "p99": percentile(d, 0.99), "samples": len(d)} for d in runs]
    order = sorted(range(len(runs)), key=lambda index: figures[index]["p99"])
    median = order[len(order) // 2]
    return {**figures[median], "sent": sent, "runs": figures, "all": runs[median]}


def peak_rss_mib(pid: int) -> float:
    return _status_mib(pid, "VmHWM:")


def rss_mib(pid: int) -> float:
    return _status_mib(pid, "VmRSS:")


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


async def latency(settings: Settings, rate: int, seconds: float, run: int = 0) -> list[float]:
    """Publish at a steady rate; time from send to the change record being read (ms).

    Each `run` publishes events of its own (other event_ids), so a second run
    measures the same work as the first, not copies of its events. A run ends
    when the worker has taken every event it sent, so that each change is
    timed even where the worker runs below the offered rate (its queue then
    grows, and so do the delays), and the next run starts on an idle worker.
    """
    topics = settings.topics
    async with aiohttp.ClientSession() as session:
        before = await health(session, settings)
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
    # Every probe event adds one claim: wait until the worker's view holds them all.
    await wait_for_worker(settings, before["events"] + total, before["claims"] + total, timeout=600)
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
    timings: list[float] = []
    async with aiohttp.ClientSession() as session:

        async def one(number: int) -> None:
            started = time.perf_counter()
            async with session.get(f"{settings.api}/actors/{actor_id(number % ACTORS)}/stances") as response:
                await response.read()
                assert response.status == 200
            timings.append((time.perf_counter() - started) * 1000)

        queue = list(range(requests))

        async def client() -> None:
            while queue:
                await one(queue.pop())

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return sorted(timings)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(fraction * len(values)))]


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
        "--memory-minutes",
        type=float,
        default=8.0,
        help="how long the memory step's worker may take in the 1M-event log before it is stopped"
        " and its RSS at the log's end projected (default 8; it took 8 on one machine, 29 on another)",
    )
    options = parser.parse_args()
    live_n, replay_n, publish_n = (2_000, 5_000, 2_000) if options.quick else (20_000, 1_000_000, 30_000)
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
                60 * options.memory_minutes,
            )
        )
    finally:
        broker.stop()
    results["machine"] = (
        f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    results["broker"] = "kafka 4.1.2"
    results["quick"] = options.quick
    out = HERE / "results" / ("quick.json" if options.quick else "latest.json")
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
    memory_budget_s: float,
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
    # timed from the first send until its view holds every event and claim.
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
        rss = peak_rss_mib(worker.pid)

        say(f"latency at a steady 1,000 events/s, {LATENCY_RUNS} runs")
        latency_runs = [await latency(live_settings, 1000, latency_s, run) for run in range(LATENCY_RUNS)]
        say("query latency")
        queries = await query_latency(live_settings, query_n)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)

    say(f"replay: {replay_n} events")
    replay_settings = settings.model_copy(update={"topic_prefix": "benchreplay."})
    await ensure_topics(replay_settings)
    replay_topic = replay_settings.topics.events
    for start in range(0, replay_n, 200_000):
        await produce(
            replay_settings, replay_topic, list(events(min(200_000, replay_n - start), seed=100 + start))
        )
    result = await rebuild(replay_settings, registry)
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

    say(f"memory: a worker ingests the {replay_n:,} replayed events from the log")
    memory = await worker_after_log(replay_settings, result.events, home, memory_budget_s)
    say(f"worker peak RSS {memory['worker_peak_rss_mib']:,.0f} MiB after {memory['after_events']:,} events")

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
            "rebuild_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
        "publish": {
            "events_per_s": publish_rate,
            "raw_producer_events_per_s": raw_producer_rate,
            "ratio_vs_raw_producer": publish_rate / raw_producer_rate,
        },
        "latency_ms": {**latency_summary(latency_runs, int(1000 * latency_s)), "offered_events_per_s": 1000},
        "query_ms": {
            "p50": percentile(queries, 0.5),
            "p99": percentile(queries, 0.99),
            "requests": len(queries),
        },
        "history": {
            "short_events_per_s": short,
            "long_events_per_s": long,
            "ratio_long_vs_short": long / short,
        },
        "memory": {
            **memory,
            "live_run_peak_rss_mib": rss,
            "live_run_after_events": live_n + LATENCY_RUNS * int(1000 * latency_s),
        },
    }


def memory_row(memory: dict[str, Any]) -> tuple[str, str, str]:
    """The memory line: measured after the whole log, or after part of it with the projection."""
    goal = "(goal < 1 GiB after 1M)"
    if memory.get("complete", True):
        return (
            "worker peak RSS",
            f"{memory['worker_peak_rss_mib']:.0f} MiB",
            f"after {memory['after_events']:,} events {goal}",
        )
    return (
        "worker peak RSS",
        f"{memory['worker_peak_rss_mib']:.0f} MiB",
        f"after {memory['after_events']:,} of {memory['log_events']:,} events (time budget);"
        + (
            f" projected {projected:,.0f} MiB at {memory['log_events']:,} {goal}"
            if (projected := memory.get("projected_peak_rss_mib")) is not None
            else f" too few samples to project {goal}"
        ),
    )


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
        (
            "query /actors/{id}/stances",
            f"p50 {results['query_ms']['p50']:.1f} ms, p99 {results['query_ms']['p99']:.1f} ms",
            "goal p99 < 10 ms",
        ),
        ("history 10k vs 10 per key", f"{results['history']['ratio_long_vs_short']:.2f}x", "goal within 2x"),
        memory_row(results["memory"]),
        (
            f"  live, working off a {results['memory']['log_events']:,}-event log",
            f"{results['memory']['backlog_events_per_s']:,.0f} events/s",
            f"that worker: {results['memory']['after_events']:,} events in"
            f" {results['memory']['backlog_seconds']:,.0f} s from its start",
        ),
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
