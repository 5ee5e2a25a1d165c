"""The worker's peak RSS after N events (default 1,000,000), for the benchmark's memory goal.

`.venv/bin/python -m tests.soak.memory_1m [N]`: its own broker, one worker, the
benchmark's events published in chunks of 50,000; prints progress and the
worker's VmHWM every 30 s. About 10 minutes for 1M events on 2 cores.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.generate import events as bench_events
from streams.kafka.local_broker import LocalBroker
from streams.topics import ensure_topics
from tests.integration.conftest import broker_settings
from tests.integration.workers import WorkerProcess
from tests.soak.harness import health, publish, soak_settings


def memory_of(pid: int) -> str:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return ", ".join(line.replace("\t", " ") for line in lines if line.startswith(("VmHWM", "VmRSS")))


def main(count: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="timeline-memory-"))
    broker = LocalBroker(broker_settings(home / "broker", broker_heap="1g"))
    broker.start()
    settings = soak_settings(broker.settings, home / "run", "rss.")
    asyncio.run(ensure_topics(settings))
    worker = WorkerProcess(settings, settings.home).start().wait_ready(180)
    assert worker.process is not None
    started = time.monotonic()
    try:
        stream = bench_events(count, seed=77)
        sent = 0
        while chunk := [orjson.loads(raw) for raw in itertools.islice(stream, 50_000)]:
            publish(settings, chunk)
            sent += len(chunk)
            print(f"sent {sent:,}; view {(health(worker) or {}).get('events')}", flush=True)
        while (health(worker) or {}).get("events", 0) < count:
            print(f"view {(health(worker) or {}).get('events')}; {memory_of(worker.process.pid)}", flush=True)
            time.sleep(30)
        print(f"after {count:,} events ({time.monotonic() - started:.0f}s): {memory_of(worker.process.pid)}")
    finally:
        worker.stop()
        broker.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
