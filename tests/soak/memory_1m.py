"""The bench's state step alone: a worker serving an N-event state (default 1,000,000).

`.venv/bin/python -m tests.soak.memory_1m [N]`: its own broker, the bench's
N-event log published, then `bench/state.py` (backfill, recovery from an empty
data directory, RSS at N/2 and N, N/10 more events live, disk, queries on two
workers). Prints the figures as JSON. `make bench` runs the same step after its
replay step; this runs it without the other measurements.
"""

from __future__ import annotations

import asyncio
import json
import sys

from bench.common import REPO, fresh_settings, say
from bench.state import measure_state, publish_log
from streams.kafka.local_broker import LocalBroker
from streams.settings import Settings
from streams.topics import ensure_topics


async def measure(settings: Settings, count: int) -> dict[str, object]:
    await ensure_topics(settings)
    say(f"publishing {count:,} events")
    await publish_log(settings, count)
    return await measure_state(settings, settings.home, count, count // 10, 10_000, 1800)


def main(count: int) -> None:
    settings = fresh_settings(REPO / ".timeline" / "memory-1m", "benchreplay.")
    broker = LocalBroker(settings, say=say)
    broker.start()  # outside the event loop: it runs one of its own to check the broker
    try:
        print(json.dumps(asyncio.run(measure(settings, count)), indent=2))
    finally:
        broker.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
