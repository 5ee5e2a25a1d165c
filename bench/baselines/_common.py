"""What every baseline shares: the fold they all compute, and how they report."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def claim_of(document: dict[str, Any]) -> tuple[str, str, tuple[str, str, str], str, float]:
    """(actor, issue, order key, position, score) of an event's first claim."""
    claim = document["stances"][0]
    order = (document["occurred_at"]["at"], document["recorded_at"], document["event_id"])
    return claim["actor_id"], claim["issue_id"], order, claim["position"], claim["score"]


class Stopwatch:
    """Counts processed events; writes {events, seconds} (first to last event) when done."""

    def __init__(self, expected: int, result_path: Path) -> None:
        self.expected = expected
        self.result_path = result_path
        self.count = 0
        self.first = 0.0

    def tick(self) -> bool:
        if self.count == 0:
            self.first = time.perf_counter()
        self.count += 1
        if self.count == self.expected:
            seconds = time.perf_counter() - self.first
            self.result_path.write_text(json.dumps({"events": self.count, "seconds": seconds}))
            return True
        return False


def create_topic(bootstrap: str, name: str) -> None:
    """The broker does not auto-create topics: make the baseline's output topic first."""
    import asyncio

    from streams.settings import Settings
    from streams.topics import TopicSpec, ensure_topics

    settings = Settings(bootstrap_servers=bootstrap, partitions=4)
    asyncio.run(ensure_topics(settings, [TopicSpec(name, "baseline output", 24 * 3600 * 1000)]))
