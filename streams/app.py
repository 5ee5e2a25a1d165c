"""The faust App, built from settings (no module-level app: tests build their own)."""

from __future__ import annotations

import faust

from streams.settings import Settings


def create_app(settings: Settings, worker_name: str = "worker") -> faust.App:
    """A faust app for this project's topics and tables, with the store in memory.

    Tables are rebuilt from their changelog topics when a worker starts, so a
    crashed or restarted worker resumes where the log says (rule 7).
    """
    datadir = (settings.home / "workers" / worker_name).absolute()
    datadir.parent.mkdir(parents=True, exist_ok=True)
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
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
        producer_linger=0.005,
        producer_max_batch_size=65536,
        web_enabled=False,
        autodiscover=False,
    )
