"""The worker's tables: events by event_id, current stances and claim history by actor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust

from streams.core.stores import CURRENT, EVENTS, HISTORY
from streams.kafka.partitioner import ROUTES, KeyRoute, partition_of
from streams.settings import Settings
from streams.worker.store import KeyPartitionedStore

ChangelogRecord = tuple[str, int | None, bytes, bytes | None]
"""Topic, partition (None: from the key), key and value (None deletes)."""


@dataclass
class ChangelogOutbox:
    """Changelog records of table writes, held per event until its agent sends them.

    faust sends each table write through `Topic.send_soon`: a future message,
    a buffer drained by a background task, and `publish_message`, which cost
    more than the producer's own send (figures in docs/benchmarks.md). The agent
    sends an event's records straight to the producer when its step ends, before
    the event is acknowledged, so faust's commit (which flushes the producer
    first) covers them (docs/semantics.md, "Nothing is lost"). They are held per
    event because the agents share one loop: one agent's step may pause while
    another's runs.
    """

    records: dict[int, list[ChangelogRecord]] = field(default_factory=dict)

    def add(self, record: ChangelogRecord) -> None:
        self.records.setdefault(id(faust.current_event()), []).append(record)

    def take(self, event: faust.EventT[Any]) -> list[ChangelogRecord]:
        return self.records.pop(id(event), [])


class OutboxTable(faust.Table):  # type: ignore[type-arg]
    """A faust table whose changelog records go to a `ChangelogOutbox` instead of `send_soon`.

    A key's partition, for its store and its changelog record, comes from the
    key (`store.partition_of`), never from the event being processed.
    """

    outbox: ChangelogOutbox
    route: KeyRoute
    settings: Settings

    def partition_for_key(self, key: Any) -> int:
        return partition_of(self.route(key), self.settings.partitions)

    def on_key_set(self, key: Any, value: Any) -> None:
        self.outbox.add((self._changelog_name, self.partition_for_key(key), key, value))

    def on_key_del(self, key: Any) -> None:
        self.outbox.add((self._changelog_name, self.partition_for_key(key), key, None))

    def scan_prefix(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """Every (key, value) under `prefix`: one DB's range on RocksDB, a filter in memory."""
        store = self.data
        if isinstance(store, KeyPartitionedStore):
            return store.scan_prefix(prefix)
        return sorted((key, value) for key, value in store.items() if key.startswith(prefix))

    def _new_store(self) -> Any:
        if self.settings.store == "memory":
            return super()._new_store()
        return KeyPartitionedStore(
            "rocksdb://",
            self.app,
            self,
            route=self.route,
            partitions=self.settings.partitions,
            cache_bytes=self.settings.rocksdb_cache_mib * 1024 * 1024,
            table_name=self.name,
            key_type=self.key_type,
            key_serializer=self.key_serializer,
            value_serializer=self.value_serializer,
            value_type=self.value_type,
            loop=self.loop,
            options=self.options,
        )

    @property
    def _changelog_name(self) -> str:
        return str(self.changelog_topic.get_topic_name())


@dataclass(frozen=True)
class Tables:
    events: Any
    """event_id -> EventRecord JSON; partitioned like `diplomacy.events`."""
    current: Any
    """actor|issue -> current Stance JSON; partitioned like the claims topic (by actor)."""
    history: Any
    """actor|issue|event_id -> Stance JSON, one record per claim."""


def declare_tables(app: faust.App, settings: Settings, outbox: ChangelogOutbox) -> Tables:
    def table(name: str, help_text: str) -> Any:
        declared = OutboxTable(
            app,
            name=name,
            beacon=app.tables.beacon,
            partitions=settings.partitions,
            key_type=bytes,
            value_type=bytes,
            help=help_text,
        )
        declared.outbox = outbox
        declared.route = ROUTES[name]
        declared.settings = settings
        return app.tables.add(declared)  # what `app.Table` does, with our class

    return Tables(
        events=table(EVENTS, "event records by event_id"),
        current=table(CURRENT, "current stance by actor|issue"),
        history=table(HISTORY, "claims by actor|issue|event_id"),
    )
