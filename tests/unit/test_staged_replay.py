"""The staged replay (stance step in a second process) gives exactly the single-process state."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from bench.generate import events, write_registry
from streams.registry_files import load_registry
from streams.replay.memory import Replay
from streams.replay.staged import StagedReplay, StanceStageStopped

T0 = 1_740_000_000_000


def records(count: int) -> list[tuple[bytes | None, bytes | None]]:
    """Benchmark events with copies, retractions of earlier events and bad records mixed in."""
    rng = random.Random(5)
    found: list[tuple[bytes | None, bytes | None]] = []
    for number, value in enumerate(events(count, seed=9)):
        key = orjson.loads(value)["event_id"].encode()
        found.append((key, value))
        if number % 50 == 7:
            found.append((key, value))  # the very record again
        if number % 97 == 3:
            target = found[rng.randrange(len(found))][0]
            assert target is not None
            retraction = {
                "event_id": f"retract-{number}",
                "type": "retraction",
                "occurred_at": "2030-01-01",
                "recorded_at": "2026-01-01T00:00:00Z",
                "summary": "withdrawn",
                "retracts": target.decode(),
                "reason": "test",
            }
            found.append((f"retract-{number}".encode(), orjson.dumps(retraction)))
        if number % 211 == 5:
            found.append((b"bad", b"{not json"))
    return found


async def test_staged_equals_single_process(tmp_path: Path) -> None:
    registry = load_registry([write_registry(tmp_path / "registry.yaml")])
    log = records(3000)
    single = Replay(registry)
    staged = StagedReplay(registry)
    try:
        for key, value in log:
            await single.feed(key, value, T0)
            await staged.feed(key, value, T0)
        outcome = staged.finish()
    finally:
        staged.close()
    expected = single.finish()
    assert outcome.changes == expected.changes > 0
    assert [letter.reason for letter in outcome.dead_letters] == [
        letter.reason for letter in expected.dead_letters
    ]
    assert outcome.stores["stance-history"] == expected.stores["stance-history"]
    assert outcome.hash() == expected.hash()
    assert any(
        b"retracted_by" in value and b'"retracted_by":null' not in value
        for value in outcome.stores["events"].values()
    )


async def test_a_lost_stance_process_stops_the_replay(tmp_path: Path) -> None:
    """Not a dead letter per event: a killed stance process ends the rebuild with a clear error."""
    registry = load_registry([write_registry(tmp_path / "registry.yaml")])
    staged = StagedReplay(registry)
    staged._process.kill()
    staged._process.join(5)
    with pytest.raises(StanceStageStopped, match="stance process stopped"):
        for key, value in records(3000):
            await staged.feed(key, value, T0)
    assert not any(letter.reason == "processing_error" for letter in staged.dead_letters)
    staged.close()
