"""Assemble and run one worker: the faust app, its agents, its tables and the query API."""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
from faust.contrib.asgi import AsgiService

from schemas.registry import Registry
from streams.collector import collect_less_often
from streams.core.pipeline import Pipeline
from streams.core.stance_book import StanceBook
from streams.core.stores import CURRENT, EVENTS, HISTORY
from streams.query.access import hosts_of
from streams.query.api import create_api
from streams.query.change_reader import ChangeReader
from streams.query.dependencies import QueryContext
from streams.query.digest_feed import DigestFeed
from streams.query.peers import Peers
from streams.query.stores import TableStores
from streams.registry.reader import RegistryReader
from streams.settings import Settings
from streams.worker.agents import register_agents
from streams.worker.app import create_app
from streams.worker.registry_service import RegistryService
from streams.worker.stale_stores import discard_stale_stores
from streams.worker.tables import ChangelogOutbox, declare_tables


@dataclass
class WorkerParts:
    app: faust.App
    context: QueryContext
    services: list[Any]


def build_worker(settings: Settings, registry: Registry | None = None) -> WorkerParts:
    """A worker; its registry is the registry topic, read live (a `registry` given instead holds
    for every event: tests)."""
    reader = RegistryReader(settings) if registry is None else None
    known = reader if reader is not None else registry
    assert known is not None
    app = create_app(settings, worker_name=f"worker-{settings.web_port}")
    outbox = ChangelogOutbox()
    tables = declare_tables(app, settings, outbox)
    pipeline = Pipeline(
        tables.events,
        StanceBook(tables.current, tables.history, settings.score_change_threshold),
        known,
        max_event_bytes=settings.max_event_bytes,
    )
    catch_up = reader.catch_up if reader is not None else None
    register_agents(app, settings.topics, pipeline, outbox, settings.partitions, catch_up)
    by_store = {EVENTS: tables.events, CURRENT: tables.current, HISTORY: tables.history}
    changelogs = {name: table.changelog_topic.get_topic_name() for name, table in by_store.items()}
    context = QueryContext(
        stores=TableStores(app, by_store, settings.partitions),
        registry=known,
        peers=Peers(app, settings.query_url, changelogs, settings.partitions),
    )
    token = settings.api_token.get_secret_value() if settings.api_token is not None else None
    if token is not None and context.peers is not None:
        context.peers.headers["Authorization"] = f"Bearer {token}"
    changes = ChangeReader(settings)
    digests = DigestFeed(settings)
    api = create_api(
        context,
        changes,
        digests,
        token=token,
        bind_host=settings.web_host,
        allowed_hosts=frozenset(hosts_of(settings.query_url, settings.api)),
    )
    services: list[Any] = [RegistryService(reader)] if reader is not None else []
    services += [changes, digests, AsgiService(api, host=settings.web_host, port=settings.web_port)]
    return WorkerParts(app, context, services)


class _Worker(faust.Worker):
    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        """No terminal spinner: faust's sets the root logger to DEBUG, so every debug call
        anywhere builds a log record (and the log fills with cursor codes)."""
        self.spinner = None


def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; the API answers from the start (503 until the partitions are ready)."""
    parts = build_worker(settings)
    if settings.store == "rocksdb":
        for path in asyncio.run(discard_stale_stores(settings, Path(parts.app.conf.tabledir))):
            print(f"deleted {path.name}: its changelog no longer holds it; recovering it", file=sys.stderr)
    worker = _Worker(
        parts.app,
        *parts.services,
        loglevel=settings.worker_log_level,
        quiet=True,
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    collect_less_often()
    worker.execute_from_commandline()
