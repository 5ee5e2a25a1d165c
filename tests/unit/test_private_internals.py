"""aiokafka internals the project relies on: fail here, not in production, when they change."""

from __future__ import annotations

import inspect
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.client import AIOKafkaClient
from aiokafka.cluster import ClusterMetadata


async def test_consumer_has_a_client_that_fetches_all_metadata() -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
    try:
        assert isinstance(consumer._client, AIOKafkaClient)
        assert inspect.iscoroutinefunction(consumer._client.fetch_all_metadata)
        assert callable(ClusterMetadata.partitions_for_topic)
    finally:
        await consumer.stop()


def test_faust_rocksdb_store_internals_our_store_builds_on(tmp_path: Path) -> None:
    """streams/worker/store.py overrides these methods and reads `_dbs` and `offset_key`."""
    import faust
    from faust.stores import rocksdb as faust_rocksdb
    from faust.types import TP

    from streams.settings import Settings
    from streams.worker.stale_stores import OFFSET_KEY
    from streams.worker.tables import ChangelogOutbox, declare_tables

    for name in ("_set", "_get", "_del", "_contains", "_db_for_partition", "revoke_partitions"):
        assert callable(getattr(faust_rocksdb.Store, name)), name
    assert faust_rocksdb.Store.offset_key == OFFSET_KEY
    assert "as_options" in vars(faust_rocksdb.RocksDBOptions) and "open" in vars(faust_rocksdb.RocksDBOptions)

    app = faust.App("internals", datadir=str(tmp_path), store="memory://", autodiscover=False)
    store = declare_tables(app, Settings(home=tmp_path), ChangelogOutbox()).history.data

    class Message:
        def __init__(self, partition: int, offset: int, key: bytes, value: bytes | None) -> None:
            self.tp = TP("c", partition)
            self.partition, self.offset, self.key, self.value = partition, offset, key, value

    class Event:
        def __init__(self, message: Message) -> None:
            self.message = message

    # Recovery writes each changelog record into the DB of the record's partition, then its offset.
    key = b"keir-starmer|us-backstop|e1"
    partition = store.partition_for(key)
    store.apply_changelog_batch([Event(Message(partition, 41, key, b"{}"))], lambda k: k, lambda v: v)
    assert isinstance(store._dbs, dict) and store._dbs[partition].get(key) == b"{}"
    assert store.persisted_offset(TP("c", partition)) == 41


def test_faust_internals_the_query_side_reads(tmp_path: Path) -> None:
    """streams/query/peers.py reads the assignor's map of URLs to active changelog partitions
    (filled from `canonical_url`); streams/query/stores.py reads whether recovery completed."""
    import faust
    from faust.assignor.partition_assignor import PartitionAssignor
    from faust.tables.recovery import Recovery

    from streams.query.stores import OFFSET_KEY as QUERY_OFFSET_KEY
    from streams.worker.stale_stores import OFFSET_KEY

    app = faust.App(
        "internals-q", datadir=str(tmp_path), canonical_url="http://127.0.0.1:1", autodiscover=False
    )
    assignor = app.assignor
    assert isinstance(assignor, PartitionAssignor)
    assignor.changelog_distribution = {"http://127.0.0.1:1": {"t-changelog": [0, 2]}}
    assert assignor.changelog_distribution == {"http://127.0.0.1:1": {"t-changelog": [0, 2]}}
    assert assignor._metadata.url == "http://127.0.0.1:1"
    # TableStores.held works the partitions out again only when `_assignment` is a new object:
    # faust replaces it on each assignment, and assigned_actives() reads it.
    from faust.assignor.client_assignment import ClientAssignment
    from faust.types import TP

    assert isinstance(assignor._assignment, ClientAssignment)
    assert "self._assignment = metadata.assignment" in inspect.getsource(PartitionAssignor.on_assignment)
    assignor._assignment = ClientAssignment(actives={"t": [1]}, standbys={})
    assert assignor.assigned_actives() == {TP("t", 1)}
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    assert isinstance(recovery, Recovery) and recovery.completed.is_set() is False
    assert app.rebalancing is False
    assert QUERY_OFFSET_KEY == OFFSET_KEY
