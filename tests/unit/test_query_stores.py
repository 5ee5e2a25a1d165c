"""Queries answered from the stores, partition by partition (no broker).

The state comes from a replay of generated events; each answer is checked
against the claims themselves, grouped and folded here with `fold.as_of` /
`fold.current_of`, not against the query code.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import faust
import orjson
import pytest

from schemas.registry import Registry
from schemas.stances import Stance
from streams.core.fold import as_of, current_of, order_key
from streams.core.records import current_key, history_key, is_withdrawn, parse_stored
from streams.core.state_hash import combine, state_hash
from streams.core.stores import CURRENT, EVENTS, HISTORY
from streams.query import local
from streams.query.gather import merge_matrix, merge_summaries
from streams.query.stores import MemoryStores, TableStores
from streams.registry_files import load_registry
from streams.replay.memory import Replay
from streams.settings import Settings
from streams.worker.tables import ChangelogOutbox, declare_tables

PARTITIONS = 4
T0 = 1_760_000_000_000


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def events(registry: Registry, count: int, seed: int) -> list[tuple[bytes, bytes]]:
    """Statements by random actors on random issues, some retracted later."""
    rng = random.Random(seed)
    actors, issues = sorted(registry.actors), sorted(registry.issues)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    made: list[tuple[bytes, bytes]] = []
    for n in range(count):
        event_id = f"ev-{n:04d}"
        claims = [
            {
                "actor_id": rng.choice(actors),
                "issue_id": issue,
                "position": "support",
                "score": round(rng.uniform(0.05, 1), 2),
                "confidence": 0.8,
            }
            for issue in rng.sample(issues, 2)
        ]
        when = (start + timedelta(days=rng.randrange(300))).date().isoformat()
        document = {
            "type": "statement",
            "event_id": event_id,
            "occurred_at": when,
            "recorded_at": "2026-01-01T00:00:00Z",
            "summary": "s",
            "actors": [{"actor_id": claims[0]["actor_id"], "role": "speaker"}],
            "stances": claims,
        }
        made.append((event_id.encode(), orjson.dumps(document)))
        if n % 10 == 9:
            target = f"ev-{rng.randrange(n):04d}"
            retraction = {
                "type": "retraction",
                "event_id": f"rt-{n:04d}",
                "occurred_at": when,
                "recorded_at": "2026-01-01T00:00:00Z",
                "summary": "withdrawn",
                "retracts": target,
                "reason": "misattributed",
            }
            made.append((f"rt-{n:04d}".encode(), orjson.dumps(retraction)))
    return made


@pytest.fixture(scope="module")
def replay(registry: Registry) -> Replay:
    async def fold() -> Replay:
        replay = Replay(registry)
        for key, value in events(registry, 300, seed=5):
            await replay.feed(key, value, T0)
        return replay

    replay = asyncio.run(fold())
    assert replay.dead_letters == []
    return replay


def claims_by_pair(replay: Replay) -> dict[tuple[str, str], list[Stance]]:
    found: dict[tuple[str, str], list[Stance]] = defaultdict(list)
    for raw in replay.history.values():
        if not is_withdrawn(raw):
            claim = parse_stored(raw)
            found[(claim.actor_id, claim.issue_id)].append(claim)
    return found


def public(stances: list[Any]) -> list[dict[str, Any]]:
    return [
        Stance.model_validate(stance.model_dump(include=set(Stance.model_fields))).model_dump()
        for stance in stances
    ]


async def test_one_actors_stances_now_and_as_of_are_the_fold_of_its_claims(replay: Replay) -> None:
    stores = MemoryStores(replay.stores(), PARTITIONS)
    pairs = claims_by_pair(replay)
    moment = datetime(2025, 6, 1, tzinfo=UTC)
    for actor_id in sorted({actor for actor, _ in pairs}):
        mine = {issue: claims for (actor, issue), claims in pairs.items() if actor == actor_id}
        now = [current_of(mine[issue]) for issue in sorted(mine)]
        assert public(local.actor_stances(stores, actor_id)) == public([s for s in now if s])
        then = [as_of(mine[issue], moment) for issue in sorted(mine)]
        assert public(local.actor_stances(stores, actor_id, moment)) == public([s for s in then if s])
        timeline = sorted((c for claims in mine.values() for c in claims), key=order_key)
        assert [c.event_id for c in local.actor_claims(stores, actor_id)] == [c.event_id for c in timeline]


async def test_history_keeps_withdrawn_claims_with_their_retraction(replay: Replay) -> None:
    stores = MemoryStores(replay.stores(), PARTITIONS)
    tombstones = [parse_stored(raw) for raw in replay.history.values() if is_withdrawn(raw)]
    assert tombstones, "the generated log retracts some claims"
    for tombstone in tombstones:
        history = local.actor_claims(stores, tombstone.actor_id, withdrawn=True)
        found = [c for c in history if c.event_id == tombstone.event_id and c.issue_id == tombstone.issue_id]
        assert [local.retracted_by(c) for c in found] == [tombstone.withdrawn_by]  # type: ignore[attr-defined]
        assert tombstone.event_id not in {c.event_id for c in local.actor_claims(stores, tombstone.actor_id)}


@pytest.mark.parametrize("limit", [1, 3, 50, 1000])
@pytest.mark.parametrize("moment", [None, datetime(2025, 5, 1, tzinfo=UTC)])
async def test_matrix_pages_merge_to_every_pair_once_in_key_order(
    replay: Replay, limit: int, moment: datetime | None
) -> None:
    """Pages of every partition, merged as the gathering worker merges them, cursor to cursor."""
    stores = MemoryStores(replay.stores(), PARTITIONS)
    pairs = claims_by_pair(replay)
    folded = {pair: (current_of(c) if moment is None else as_of(c, moment)) for pair, c in pairs.items()}
    suffix = "|" if moment is not None else ""
    expected = sorted(
        ((f"{a}|{i}{suffix}".encode(), s) for (a, i), s in folded.items() if s), key=lambda p: p[0]
    )
    served: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(10_000):
        parts = {
            p: page_json(
                local.matrix_page(stores, p, after=after and after.encode(), limit=limit, moment=moment)
            )
            for p in range(PARTITIONS)
        }
        page = merge_matrix(parts, limit, as_of=moment is not None)
        assert len(page["items"]) <= limit
        served += page["items"]
        if page["next"] is None:
            break
        last = page["items"][-1]
        after = f"{last['actor_id']}|{last['issue_id']}{suffix}"
    assert [(s["actor_id"], s["issue_id"], s["event_id"]) for s in served] == [
        (s.actor_id, s.issue_id, s.event_id) for _, s in expected
    ]


def page_json(page: local.PartitionPage) -> dict[str, Any]:
    return {"items": [orjson.loads(stance.model_dump_json()) for stance in page.items], "more": page.more}


def test_an_issue_whose_id_begins_another_keeps_the_matrix_order() -> None:
    """`us` and `us-backstop` sort one way as current keys and the other as history prefixes."""
    stance = {"position": "support", "score": 0.5, "confidence": 0.9, "recorded_at": "2026-01-01T00:00:00Z"}
    history: dict[bytes, bytes] = {}
    current: dict[bytes, bytes] = {}
    for issue in ("us", "us-backstop"):
        document = dict(stance, actor_id="a", issue_id=issue, event_id=f"e-{issue}")
        document["occurred_at"] = {"at": "2025-01-01T00:00:00Z", "precision": "day"}
        history[history_key("a", issue, f"e-{issue}")] = orjson.dumps(document)
        current[current_key("a", issue)] = orjson.dumps(document)
    stores = MemoryStores({EVENTS: {}, CURRENT: current, HISTORY: history}, 1)
    moment = datetime(2025, 2, 1, tzinfo=UTC)
    for when in (None, moment):
        first = local.matrix_page(stores, 0, after=None, limit=1, moment=when)
        cursor = local.matrix_key(first.items[0], as_of=when is not None)
        second = local.matrix_page(stores, 0, after=cursor, limit=1, moment=when)
        assert first.more and {first.items[0].issue_id, second.items[0].issue_id} == {"us", "us-backstop"}


async def test_an_issues_stances_are_its_column_of_the_matrix(replay: Replay, registry: Registry) -> None:
    stores = MemoryStores(replay.stores(), PARTITIONS)
    pairs = claims_by_pair(replay)
    for issue_id in sorted(registry.issues):
        expected = sorted(a for (a, i) in pairs if i == issue_id)
        parts = {
            p: page_json(local.matrix_page(stores, p, after=None, limit=1000, issue_id=issue_id))
            for p in range(PARTITIONS)
        }
        assert [s["actor_id"] for s in merge_matrix(parts, 1000, as_of=False)["items"]] == expected


@pytest.mark.parametrize("limit", [1, 3, 1000])
async def test_an_issues_page_read_by_key_equals_the_scanned_one(
    replay: Replay, registry: Registry, limit: int
) -> None:
    """One key per registered actor (multi-gets) serves what walking the table serves, page by page."""
    stores = MemoryStores(replay.stores(), PARTITIONS)
    actors = tuple(registry.actors)
    for issue_id in sorted(registry.issues):
        pages: dict[bool, list[Any]] = {}
        for by_key in (False, True):
            served: list[Any] = []
            after: str | None = None
            while True:
                parts = {
                    p: page_json(
                        local.matrix_page(
                            stores,
                            p,
                            after=after and after.encode(),
                            limit=limit,
                            issue_id=issue_id,
                            actors=actors if by_key else None,
                        )
                    )
                    for p in range(PARTITIONS)
                }
                page = merge_matrix(parts, limit, as_of=False)
                served += page["items"]
                if page["next"] is None:
                    break
                after = f"{page['items'][-1]['actor_id']}|{issue_id}"
            pages[by_key] = served
        assert pages[True] == pages[False], issue_id


def test_an_actor_whose_id_begins_another_keeps_the_issue_page_order() -> None:
    """`ab|x` sorts before `a|x` (`b` < `|`): read by key, the page keeps the table's order."""
    document = {"position": "support", "score": 0.5, "confidence": 0.9, "recorded_at": "2026-01-01T00:00:00Z"}
    current = {}
    for actor in ("a", "ab"):
        one = dict(document, actor_id=actor, issue_id="x", event_id=f"e-{actor}")
        one["occurred_at"] = {"at": "2025-01-01T00:00:00Z", "precision": "day"}
        current[current_key(actor, "x")] = orjson.dumps(one)
    stores = MemoryStores({EVENTS: {}, CURRENT: current, HISTORY: {}}, 1)
    scanned = local.matrix_page(stores, 0, after=None, limit=10, issue_id="x")
    by_key = local.matrix_page(stores, 0, after=None, limit=10, issue_id="x", actors=("a", "ab", "c"))
    assert [s.actor_id for s in by_key.items] == [s.actor_id for s in scanned.items] == ["ab", "a"]
    rest = local.matrix_page(stores, 0, after=b"ab|x", limit=10, issue_id="x", actors=("a", "ab"))
    assert [s.actor_id for s in rest.items] == ["a"] and not rest.more


async def test_partition_summaries_combine_into_the_state_hash(replay: Replay) -> None:
    stores = MemoryStores(replay.stores(), PARTITIONS)
    summaries = [await local.summarise(stores, p) for p in range(PARTITIONS)]
    parts = {s.partition: vars(s) for s in summaries}
    merged = merge_summaries(parts)
    assert merged["sha256"] == state_hash(replay.stores(), PARTITIONS) == replay.hash(PARTITIONS)
    assert merged["sha256"] == combine(s.sha256 for s in summaries)
    assert merged["events"] == len(replay.events) and merged["stances"] == len(replay.current)
    assert merged["claims"] == sum(len(c) for c in claims_by_pair(replay).values())
    assert state_hash(replay.stores(), 3) != merged["sha256"], "the partition count is part of the hash"


async def test_a_summary_stops_when_its_partition_moves(replay: Replay) -> None:
    stores = MemoryStores(replay.stores(), PARTITIONS)
    stores.serving = frozenset({0, 1})
    with pytest.raises(local.PartitionMoved):
        await local.summarise(stores, 2)


def test_table_scans_read_one_partitions_range_on_rocksdb(tmp_path: Path) -> None:
    """The worker's reader over the RocksDB tables: prefix, `after` and `limit`, no offset key."""
    settings = Settings(home=tmp_path, partitions=PARTITIONS)
    app = faust.App("query-scan", datadir=str(tmp_path / "data"), store="memory://", autodiscover=False)
    tables = declare_tables(app, settings, ChangelogOutbox())
    by_store = {EVENTS: tables.events, CURRENT: tables.current, HISTORY: tables.history}
    for actor in ("kallas", "kallas-x", "lammy"):
        for n in range(5):
            tables.history.data[history_key(actor, "i", f"e{n}")] = f"{actor}{n}".encode()
    reader = TableStores(app, by_store, PARTITIONS)
    partition = local.actor_partition(MemoryStores({}, PARTITIONS), "kallas")
    tables.history.data._db_for_partition(partition).put(b"__faust\0offset__", b"9")
    found = reader.scan(HISTORY, partition, prefix=b"kallas|")
    assert [value for _, value in found] == [f"kallas{n}".encode() for n in range(5)]
    page = reader.scan(HISTORY, partition, prefix=b"kallas|", after=history_key("kallas", "i", "e1"), limit=2)
    assert [value for _, value in page] == [b"kallas2", b"kallas3"]
    whole = reader.scan(HISTORY, partition)
    assert b"__faust\0offset__" not in {key for key, _ in whole}
    assert reader.get(HISTORY, history_key("lammy", "i", "e4")) == b"lammy4"
    keys = [
        history_key("kallas", "i", "e3"),
        history_key("kallas", "i", "nope"),
        history_key("kallas", "i", "e0"),
    ]
    assert reader.get_many(HISTORY, partition, keys) == [b"kallas3", None, b"kallas0"]


def test_the_current_documents_are_the_json_the_stance_model_writes(replay: Replay) -> None:
    """The hot path skips validation: its JSON must equal what validating and dumping gives."""
    stores = MemoryStores(replay.stores(), PARTITIONS)
    actors = sorted({key.split(b"|", 1)[0].decode() for key in replay.current})
    assert actors
    for actor_id in actors:
        fast = local.actor_current_documents(stores, actor_id)
        slow = [
            orjson.loads(stance.as_stance().model_dump_json())
            for stance in local.actor_stances(stores, actor_id)
        ]  # type: ignore[attr-defined]
        assert fast == slow


def test_the_hot_page_is_the_json_of_the_documents(replay: Replay) -> None:
    """The hot path cuts the stored bytes: parsed, they must equal the documents (and the models)."""
    stores = MemoryStores(replay.stores(), PARTITIONS)
    actors = sorted({key.split(b"|", 1)[0].decode() for key in replay.current})
    for actor_id in actors:
        documents = local.actor_current_documents(stores, actor_id)
        body = local.actor_current_page(stores, actor_id, limit=len(documents))
        assert body is not None
        assert orjson.loads(body) == {"items": documents, "next": None}
        if documents:
            assert local.actor_current_page(stores, actor_id, limit=len(documents) - 1) is None
