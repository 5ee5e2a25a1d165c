"""The faust App, built from settings (no module-level app: tests build their own)."""

from __future__ import annotations

from time import monotonic
from typing import Any

import faust
from faust.sensors import Monitor
from faust.types import TP, EventT, StreamT

from streams.kafka import connection
from streams.settings import PRODUCER_REQUEST_BYTES, Settings
from streams.worker.offsets import GaplessCommitConsumer


class LeanMonitor(Monitor):
    """faust's Monitor without its per-event, per-table-access and per-send bookkeeping
    (a large share of faust's own cost per event: docs/benchmarks.md).

    The worker exposes no faust stats page, so nothing reads those figures.
    One is kept: the time each partition's stream last took an event, which
    faust's consumer reads to tell a stalled stream from a busy one. Without
    it a worker working off a backlog for more than `stream_processing_timeout`
    (300 s) logs "Stream has not started processing" errors while it works.
    """

    def _ignore(self, *args: Any, **kwargs: Any) -> None:
        return None

    def on_stream_event_in(self, tp: TP, offset: int, stream: StreamT[Any], event: EventT[Any]) -> None:
        self.stream_inbound_time[tp] = monotonic()

    on_message_in = _ignore
    on_stream_event_out = _ignore
    on_message_out = _ignore
    on_table_get = _ignore
    on_table_set = _ignore
    on_table_del = _ignore
    on_send_initiated = _ignore
    on_send_completed = _ignore


def create_app(settings: Settings, worker_name: str = "worker") -> faust.App:
    """A faust app for this project's topics and tables.

    The tables choose their own store (`TIMELINE_STORE`: RocksDB in the worker's
    data directory, or memory) and recover from their changelog topics, so a
    crashed or restarted worker resumes where the log says (docs/semantics.md,
    "Nothing is lost").
    """
    datadir = (settings.home / "workers" / worker_name).absolute()
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        **connection.faust_broker_options(settings),
        store="memory://",
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10,
        broker_heartbeat_interval=1,
        producer_acks=-1,
        # Tuned for throughput (see bench/ and docs/benchmarks.md).
        producer_linger=0.01,
        producer_max_batch_size=256 * 1024,
        producer_max_request_size=PRODUCER_REQUEST_BYTES,
        broker_max_poll_records=5000,
        consumer_max_fetch_size=4 * 1024 * 1024,
        stream_buffer_maxsize=32768,
        broker_commit_every=10000,
        web_enabled=False,
        canonical_url=settings.query_url,  # published in the group: peers forward queries here
        table_standby_replicas=settings.standby_replicas,
        Monitor=LeanMonitor,
        autodiscover=False,
    )
    # faust's consumer can commit past a record not yet processed (streams/worker/offsets.py).
    app.transport.Consumer = GaplessCommitConsumer  # type: ignore[misc]
    return app
