"""The tables' RocksDB store (real RocksDB through rocksdict, no broker): key partitioning, scans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
import pytest

from streams.core.records import current_key, history_key, history_prefix
from streams.kafka.partitioner import partition_of
from streams.settings import Settings
from streams.worker.store import KeyPartitionedStore, successor
from streams.worker.tables import ChangelogOutbox, declare_tables

# murmur2 test vectors of the Java client (Kafka's UtilsTest.testMurmur2), as signed 32-bit ints.
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"abc": 479470107,
}


@pytest.mark.parametrize("partitions", [1, 4, 7, 64])
def test_partition_of_is_kafkas_default_partitioner(partitions: int) -> None:
    """Kafka's DefaultPartitioner: toPositive(murmur2(key)) % partitions."""
    for key, signed in JAVA_MURMUR2.items():
        assert partition_of(key, partitions) == (signed & 0x7FFFFFFF) % partitions


def test_thesuccessor_bounds_a_prefix() -> None:
    assert successor(b"ab|") == b"ab}"
    assert successor(b"a\xff") == b"b"
    with pytest.raises(ValueError, match="no upper bound"):
        successor(b"\xff\xff")


@pytest.fixture
def tables(tmp_path: Path) -> Any:
    settings = Settings(home=tmp_path, partitions=4)
    app = faust.App("store-test", datadir=str(tmp_path / "data"), store="memory://", autodiscover=False)
    return declare_tables(app, settings, ChangelogOutbox())


def test_a_key_lands_in_the_db_of_its_routing_part_outside_any_event(tables: Any) -> None:
    history = tables.history
    store = history.data
    assert isinstance(store, KeyPartitionedStore)
    actors = [f"actor-{n}" for n in range(40)]
    for actor in actors:
        for event in range(3):
            history.data[history_key(actor, "us-backstop", f"ev-{event}")] = b"{}"
        tables.current.data[current_key(actor, "us-backstop")] = b"{}"
    for actor in actors:
        partition = partition_of(actor.encode(), 4)
        db = store._dbs[partition]
        assert db.get(history_key(actor, "us-backstop", "ev-2")) == b"{}"
        assert (
            tables.current.data._db_for_partition(partition).get(current_key(actor, "us-backstop")) == b"{}"
        )
    assert len({partition_of(actor.encode(), 4) for actor in actors}) == 4  # all four DBs are used
    assert history.data[history_key("actor-7", "us-backstop", "ev-1")] == b"{}"
    del history.data[history_key("actor-7", "us-backstop", "ev-1")]
    assert history_key("actor-7", "us-backstop", "ev-1") not in history.data


def test_a_prefix_scan_reads_one_keys_history_and_nothing_next_to_it(tables: Any) -> None:
    history = tables.history
    for event in ("ev-b", "ev-a", "ev-c"):
        history.data[history_key("keir-starmer", "us-backstop", event)] = event.encode()
    history.data[history_key("keir-starmer", "us-backstopper", "ev-x")] = b"neighbour"
    history.data[history_key("keir-starmer", "us-back", "ev-y")] = b"shorter"
    history.data[history_key("keir-starmerx", "us-backstop", "ev-z")] = b"other actor"
    found = history.scan_prefix(history_prefix("keir-starmer", "us-backstop"))
    assert [value for _, value in found] == [b"ev-a", b"ev-b", b"ev-c"]


def test_the_memory_store_stays_a_setting_with_the_same_scan(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, partitions=4, store="memory")
    app = faust.App("store-memory", datadir=str(tmp_path / "data"), store="memory://", autodiscover=False)
    history = declare_tables(app, settings, ChangelogOutbox()).history
    assert not isinstance(history.data, KeyPartitionedStore)
    history.data[history_key("a", "i", "e2")] = b"2"
    history.data[history_key("a", "i", "e1")] = b"1"
    history.data[history_key("a", "j", "e3")] = b"3"
    assert history.scan_prefix(history_prefix("a", "i")) == [
        (history_key("a", "i", "e1"), b"1"),
        (history_key("a", "i", "e2"), b"2"),
    ]


def test_the_persisted_offset_follows_the_changelog_acks_and_never_goes_back(tables: Any) -> None:
    from faust.types import TP

    store = tables.events.data
    key = b"ev-1"
    store[key] = b"{}"
    tp = TP("t-events-changelog", store.partition_for(key))
    assert store.persisted_offset(tp) is None
    store.written_to_changelog(tp, 7)
    store.written_to_changelog(tp, 5)
    assert store.persisted_offset(tp) == 7
    closed = TP("t-events-changelog", (tp.partition + 1) % 4)
    store.written_to_changelog(closed, 3)  # a partition whose DB is not open is left alone
    assert closed.partition not in store._dbs
