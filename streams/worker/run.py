"""Assemble and run one worker: the faust app, its agents, the view and the query API."""

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
from streams.query.api import create_api
from streams.query.view import StanceView
from streams.query.view_feed import ViewFeed
from streams.registry_files import load_registry
from streams.settings import Settings
from streams.worker.agents import register_agents
from streams.worker.app import create_app
from streams.worker.stale_stores import discard_stale_stores
from streams.worker.tables import ChangelogOutbox, declare_tables


@dataclass
class WorkerParts:
    app: faust.App
    view: StanceView
    services: list[Any]


def build_worker(settings: Settings, registry: Registry | None = None) -> WorkerParts:
    registry = registry if registry is not None else load_registry(settings.registry_files)
    app = create_app(settings, worker_name=f"worker-{settings.web_port}")
    outbox = ChangelogOutbox()
    tables = declare_tables(app, settings, outbox)
    pipeline = Pipeline(
        tables.events,
        StanceBook(tables.current, tables.history, settings.score_change_threshold),
        registry,
        max_event_bytes=settings.max_event_bytes,
    )
    register_agents(app, settings.topics, pipeline, outbox)
    view = StanceView()
    api = create_api(view, registry)
    services = [
        ViewFeed(settings, view),
        AsgiService(api, host=settings.web_host, port=settings.web_port),
    ]
    return WorkerParts(app, view, services)


class _Worker(faust.Worker):
    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        """No terminal spinner: faust's sets the root logger to DEBUG, so every debug call
        anywhere builds a log record (and the log fills with cursor codes)."""
        self.spinner = None


def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; the API answers from the start (503 until the view is ready)."""
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
