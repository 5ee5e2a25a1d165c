"""The pipeline over in-memory stores: dead letters, duplicates, conflicts, retractions (no broker)."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from schemas import Registry
from schemas.stances import ChangeKind
from streams.core.records import is_withdrawn
from streams.registry_files import load_registry
from streams.replay.memory import Replay

T0 = 1_740_000_000_000


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def seed(repo: Path) -> list[bytes]:
    return [line for line in (repo / "seed" / "events.jsonl").read_bytes().splitlines() if line]


def with_recorded(line: bytes, second: int = 0) -> tuple[bytes, bytes]:
    document = orjson.loads(line)
    document["recorded_at"] = f"2026-01-01T00:00:{second:02d}Z"
    return document["event_id"].encode(), orjson.dumps(document)


def statement(event_id: str, day: str, score: float, actor: str = "keir-starmer") -> tuple[bytes, bytes]:
    document = {
        "event_id": event_id,
        "type": "statement",
        "occurred_at": day,
        "summary": event_id,
        "recorded_at": "2026-01-01T00:00:00Z",
        "stances": [
            {
                "actor_id": actor,
                "issue_id": "us-backstop",
                "position": "support" if score > 0 else "oppose",
                "score": score,
            }
        ],
    }
    return event_id.encode(), orjson.dumps(document)


def retraction(event_id: str, target: str) -> tuple[bytes, bytes]:
    document = {
        "event_id": event_id,
        "type": "retraction",
        "occurred_at": "2025-03-01",
        "recorded_at": "2026-01-01T00:00:00Z",
        "summary": "withdrawn",
        "retracts": target,
        "reason": "misattributed",
    }
    return event_id.encode(), orjson.dumps(document)


async def run(registry: Registry, records: list[tuple[bytes | None, bytes | None]]) -> Replay:
    replay = Replay(registry)
    for key, value in records:
        await replay.feed(key, value, T0)
    return replay


async def test_seed_folds_into_stances(registry: Registry, repo: Path) -> None:
    replay = await run(registry, [with_recorded(line) for line in seed(repo)])
    assert replay.dead_letters == []
    assert b"keir-starmer|ukraine-security-guarantees" in replay.current
    assert {change.kind for change in replay.changes} == {ChangeKind.NEW}


async def test_dlq_reasons_and_good_events_keep_flowing(registry: Registry) -> None:
    good = statement("good-1", "2025-02-20", 0.5)
    bad_records: list[tuple[bytes | None, bytes | None]] = [
        (b"x", b"{not json"),
        (b"x", b"\xff\xfe"),
        (b"v9", b'{"schema_version": 9, "event_id": "v9"}'),
        (b"missing", b'{"type": "statement", "event_id": "missing"}'),
        (b"other-key", statement("unknown-actor", "2025-02-20", 0.5, actor="nobody")[1]),
        (b"wrong-key", good[1]),
        (b"tomb", None),
    ]
    replay = await run(registry, [*bad_records, good])
    reasons = [letter.reason for letter in replay.dead_letters]
    assert reasons == [
        "invalid_json",
        "bad_utf8",
        "unsupported_schema_version",
        "invalid_event",
        "unknown_reference",
        "key_mismatch",
        "empty_value",
    ]
    assert all(letter.error for letter in replay.dead_letters)
    assert replay.dead_letters[0].value == b"{not json"  # the original bytes are kept
    assert b"keir-starmer|us-backstop" in replay.current


async def test_duplicate_changes_nothing_and_conflict_goes_to_dlq(registry: Registry) -> None:
    first = statement("e1", "2025-02-20", 0.5)
    document = orjson.loads(first[1])
    later_copy = (first[0], orjson.dumps(dict(document, recorded_at="2026-01-02T00:00:00Z")))
    once = await run(registry, [first])
    twice = await run(registry, [first, later_copy])
    assert once.hash() == twice.hash() and len(twice.changes) == 1
    assert twice.pipeline.duplicates == 1
    # The very record again (read again after a crash): the change is re-sent with its change_id.
    redelivered = await run(registry, [first, first])
    assert redelivered.hash() == once.hash()
    assert {change.change_id for change in redelivered.changes} == {once.changes[0].change_id}
    conflicting = statement("e1", "2025-02-20", -0.5)
    conflicted = await run(registry, [first, conflicting])
    assert [letter.reason for letter in conflicted.dead_letters] == ["conflict"]
    assert conflicted.hash() == once.hash()


async def test_late_event_enters_history_without_moving_the_view(registry: Registry) -> None:
    replay = await run(registry, [statement("new", "2025-02-25", 0.8), statement("old", "2025-02-10", -0.8)])
    assert len(replay.history) == 2
    assert orjson.loads(replay.current[b"keir-starmer|us-backstop"])["event_id"] == "new"
    assert len(replay.changes) == 1


async def test_retract_withdraws_and_equals_never_published(registry: Registry) -> None:
    base = statement("base", "2025-02-10", 0.4)
    newer = statement("newer", "2025-02-20", -0.7)
    retracted = await run(registry, [base, newer, retraction("r1", "newer")])
    withdrawals = [change for change in retracted.changes if change.kind is ChangeKind.WITHDRAWN]
    assert len(withdrawals) == 1 and withdrawals[0].current is not None
    assert withdrawals[0].current.event_id == "base"
    never = await run(registry, [base])
    assert retracted.current == never.current
    assert {k: v for k, v in retracted.history.items() if not is_withdrawn(v)} == never.history


async def test_retract_before_the_event_arrives(registry: Registry) -> None:
    early = await run(registry, [retraction("r1", "e1"), statement("e1", "2025-02-20", 0.5)])
    late = await run(registry, [statement("e1", "2025-02-20", 0.5), retraction("r1", "e1")])
    assert early.current == {} and early.history == {}
    assert early.hash() == late.hash()


async def test_rebuild_hash_is_independent_of_order(registry: Registry, repo: Path) -> None:
    records = [with_recorded(line, index) for index, line in enumerate(seed(repo))]
    records += [statement("extra", "2025-03-01", -0.3), retraction("r1", "seed-2025-02-20-wang-yi-g20")]
    shuffled = list(records)
    random.Random(7).shuffle(shuffled)
    assert (await run(registry, records)).hash() == (await run(registry, shuffled)).hash()


async def test_an_oversized_record_is_dead_lettered_before_it_is_parsed(registry: Registry) -> None:
    key, value = statement("big-one", "2025-03-01", 0.5)
    replay = Replay(registry, max_event_bytes=len(value) - 1)
    await replay.feed(key, value, T0)
    small_key, small_value = statement("small", "2025-03-02", 0.5)
    await replay.feed(small_key, small_value, T0)
    assert [letter.reason for letter in replay.dead_letters] == ["oversized"]
    assert f"{len(value)} bytes" in replay.dead_letters[0].error


async def test_a_record_whose_processing_raises_is_dead_lettered_and_the_replay_goes_on(
    registry: Registry,
) -> None:
    """A Kafka timestamp no datetime can hold makes the step raise: dead-lettered, not fatal."""
    key, value = statement("odd-timestamp", "2025-03-01", 0.5)
    document = orjson.loads(value)
    del document["recorded_at"]  # so the record's timestamp is used, and overflows
    replay = Replay(registry)
    await replay.feed(key, orjson.dumps(document), 10**18)
    fine_key, fine_value = statement("fine", "2025-03-02", 0.5)
    await replay.feed(fine_key, fine_value, T0)
    assert [letter.reason for letter in replay.dead_letters] == ["processing_error"]
    assert b"keir-starmer|us-backstop" in replay.current


class WriteLog(dict[bytes, bytes]):
    """A dict that counts the writes made to it, as a faust table turns each into a changelog record."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.written.append(key)
        super().__setitem__(key, value)


async def test_an_event_read_again_writes_its_stored_record_again(registry: Registry) -> None:
    """A crash may keep a table write on disk and lose its changelog record: the record read
    again after the restart writes again what it finds, so the changelog gets it after all."""
    replay = Replay(registry)
    events = WriteLog()
    replay.events = events
    replay.__post_init__()
    key, value = statement("ev-again", "2025-02-20", 0.5)
    await replay.feed(key, value, T0)
    stored = dict(events)
    await replay.feed(key, value, T0)
    assert events.written == [key, key]
    assert dict(events) == stored and replay.pipeline.duplicates == 1
