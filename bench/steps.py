"""The pure steps' cost per event, without Kafka: what bounds `timeline rebuild`.

    python -m bench.steps [--events 50000]

Runs the event step (`Pipeline.on_event`: decode, validate, deduplicate,
fingerprint, store, build the claim op) and the stance step (`fold_claim`
on each claim op, as the rebuild's stance process does) over the
benchmark's synthetic events, with dicts for stores, and prints the
microseconds per event of each. The rebuild runs the two in two processes,
so the slower one, plus reading the log, sets its rate.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bench.generate import events, write_registry
from schemas.registry import Registry
from schemas.stances import StanceChange
from streams.core.pipeline import Pipeline, fold_claim
from streams.core.records import ClaimOp, RetractRequest
from streams.core.stance_book import StanceBook
from streams.registry_files import load_registry


class ClaimOps:
    """An emitter that keeps the encoded claim ops (what the rebuild pipes to its stance process)."""

    def __init__(self) -> None:
        self.ops: list[bytes] = []

    async def claim(self, actor_id: str, op: bytes) -> None:
        self.ops.append(op)

    async def retract(self, request: RetractRequest) -> None:
        raise AssertionError("the synthetic events hold no retraction")

    async def dead_letter(self, key: bytes | None, value: bytes | None, reason: str, error: str) -> None:
        raise AssertionError(f"a synthetic event was dead-lettered: {reason}: {error}")

    async def change(self, change: StanceChange) -> None:
        raise AssertionError("changes are made by the stance step")


async def event_step(pipeline: Pipeline, records: list[tuple[bytes, bytes]], sink: ClaimOps) -> float:
    started = time.perf_counter()
    for key, value in records:
        await pipeline.on_event(key, value, 1_700_000_000_000, sink)
    return time.perf_counter() - started


async def claim_ops(values: list[bytes], registry: Registry) -> tuple[list[bytes], float]:
    """The encoded claim ops the event step makes of `values`, and the seconds it took."""
    records = [(orjson.loads(value)["event_id"].encode(), value) for value in values]
    sink = ClaimOps()
    pipeline = Pipeline({}, StanceBook({}, {}, 0.2), registry)
    seconds = await event_step(pipeline, records, sink)
    return sink.ops, seconds


def stance_step(ops: list[bytes], threshold: float) -> float:
    book = StanceBook({}, {}, threshold)
    now = datetime.now(UTC)
    started = time.perf_counter()
    for line in ops:
        fold_claim(book, ClaimOp.model_validate_json(line), now)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        registry = load_registry([write_registry(Path(folder) / "registry.yaml")])
    ops, event_seconds = asyncio.run(claim_ops(list(events(options.events, seed=1)), registry))
    stance_seconds = stance_step(ops, 0.2)
    count = options.events
    print(f"event step   {1e6 * event_seconds / count:5.1f} us per event ({count:,} events)")
    print(f"stance step  {1e6 * stance_seconds / len(ops):5.1f} us per claim ({len(ops):,} claims)")


if __name__ == "__main__":
    main()
