"""What the bench's steps share: settings of a run, the clock in each line, producing, workers, RSS.

`bench.run` re-exports these (`bench/profile_live.py` imports them from there).
"""

from __future__ import annotations

import asyncio
import os
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
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.generate import write_registry
from streams.core.stores import EVENTS, HISTORY
from streams.kafka.metadata import partitions_by_topic
from streams.settings import Settings

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

STARTED = time.monotonic()
"""When this process started: `say` prefixes each line with the minutes and seconds since."""


def say(message: str) -> None:
    minutes, seconds = divmod(int(time.monotonic() - STARTED), 60)
    print(f"[bench {minutes:02d}:{seconds:02d}] {message}", file=sys.stderr, flush=True)


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


def env_for(settings: Settings) -> dict[str, str]:
    return {**os.environ, **settings.environment()}


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


def start_worker(settings: Settings, home: Path, log_name: str = "worker.log") -> subprocess.Popen[bytes]:
    """A `timeline worker` process on `settings`, logging to home/log_name."""
    return subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "worker"],
        env=env_for(settings),
        cwd=REPO,
        stdout=(home / log_name).open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_worker(worker: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """SIGTERM, then SIGKILL if it has not stopped within `timeout`."""
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(30)


def worker_datadir(settings: Settings) -> Path:
    """Where a worker on `settings` keeps its tables (streams/worker/app.py: create_app)."""
    return (settings.home / "workers" / f"worker-{settings.web_port}").absolute()


def peak_rss_mib(pid: int) -> float:
    return _status_mib(pid, "VmHWM:")


def rss_mib(pid: int) -> float:
    return _status_mib(pid, "VmRSS:")


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(fraction * len(values)))]


async def get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        return await response.json() if response.status == 200 else None


async def health(session: aiohttp.ClientSession, settings: Settings) -> Any:
    """The worker's /health, or None while it does not answer (or answers 503: recovering)."""
    try:
        return await get(session, f"{settings.api}/health")
    except aiohttp.ClientError:
        return None


class Written:
    """How many records a worker has written to the events and history changelogs (end offsets
    summed): one per new event and one per claim, sent when the event's step ends.

    Cheap to poll, and it does not load the worker (/state/hash hashes the whole
    state; /health says only whether the worker is ready)."""

    def __init__(self, settings: Settings) -> None:
        self.topics = [settings.topics.changelog(EVENTS), settings.topics.changelog(HISTORY)]
        self.consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False)
        self.partitions: dict[str, list[TopicPartition]] = {}

    async def __aenter__(self) -> Written:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def counts(self) -> tuple[int, int]:
        """(event records, claim records) written so far; 0 for a changelog not made yet."""
        if not all(self.partitions.get(topic) for topic in self.topics):  # asked until both exist
            self.partitions = await partitions_by_topic(self.consumer, self.topics)
        totals = []
        for topic in self.topics:
            partitions = self.partitions[topic]
            totals.append(sum((await self.consumer.end_offsets(partitions)).values()) if partitions else 0)
        return totals[0], totals[1]


async def wait_written(
    settings: Settings,
    events: int,
    claims: int,
    since: float,
    timeout: float,
    worker: subprocess.Popen[bytes] | None = None,
) -> float:
    """Seconds from `since` until the changelogs hold `events` event and `claims` claim records
    (polled every 100 ms; an error if `worker` stops first)."""
    async with Written(settings) as written:
        while time.perf_counter() - since < timeout:
            if worker is not None and worker.poll() is not None:
                raise RuntimeError(f"the worker stopped ({worker.returncode}) before writing it all")
            done_events, done_claims = await written.counts()
            if done_events >= events and done_claims >= claims:
                return time.perf_counter() - since
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the worker did not write {events:,} events and {claims:,} claims in {timeout:.0f}s")


async def timed_gets(api: str, paths: list[str], requests: int, concurrency: int = 16) -> list[float]:
    """`requests` GETs of `paths` (in turn) by `concurrency` clients on one session; sorted ms.

    Every answer must be a 200 (its body read to the end)."""
    timings: list[float] = []
    async with aiohttp.ClientSession() as session:

        async def one(number: int) -> None:
            started = time.perf_counter()
            async with session.get(f"{api}{paths[number % len(paths)]}") as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET {paths[number % len(paths)]}: {response.status}")
            timings.append((time.perf_counter() - started) * 1000)

        queue = list(range(requests))

        async def client() -> None:
            while queue:
                await one(queue.pop())

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return sorted(timings)
