"""The worker's tables on RocksDB: kept across restarts, checked against the changelog, recovered.

The stores on disk are read back with the project's own options (read-only,
after the worker stopped) and hashed as the state hash does: they must hold
the very state the worker serves.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from streams.core.state_hash import state_hash
from streams.core.stores import STORE_NAMES
from streams.kafka.local_broker import LocalBroker
from streams.topics import ensure_topics
from streams.worker.stale_stores import OFFSET_KEY, stores_on_disk
from streams.worker.store import TunedOptions
from tests.integration.conftest import free_port
from tests.integration.workers import WorkerProcess, publish, seed_folded, seed_lines

pytestmark = pytest.mark.integration
CACHE = 8 * 1024 * 1024


def stores_read_back(tabledir: Path) -> dict[str, dict[bytes, bytes]]:
    state: dict[str, dict[bytes, bytes]] = {name: {} for name in STORE_NAMES}
    for store in stores_on_disk(tabledir, CACHE):
        db = TunedOptions(CACHE).open(store.path, read_only=True)
        try:
            state[store.table].update((key, value) for key, value in db.items() if key != OFFSET_KEY)
        finally:
            db.close()
    return state


def probe(event_id: str) -> dict[str, object]:
    """An event published after a start: once it is served, the worker's agents run, so its
    tables have recovered (the view answers from the changelogs before that)."""
    return {"event_id": event_id, "type": "statement", "occurred_at": "2025-03-01", "summary": event_id}


def test_stores_survive_restarts_and_a_store_the_changelog_no_longer_backs_is_recovered(
    broker: LocalBroker, repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("stores")
    settings = broker.settings.model_copy(
        update={"topic_prefix": "stores.", "home": home, "web_port": free_port(), "store": "rocksdb"}
    )
    asyncio.run(ensure_topics(settings))
    tabledir = home / "workers" / f"worker-{settings.web_port}" / "v1" / "tables"
    published = seed_lines(repo)

    def serve(round_name: str) -> tuple[dict[str, int | str], str]:
        """Start a worker, publish a probe, wait until it is served; stop; the hash on disk."""
        worker = WorkerProcess(settings, home).start().wait_ready()
        try:
            asyncio.run(publish(settings, [probe(round_name)]))
            served = worker.wait_for("/state/hash", lambda state: state["events"] == len(published) + rounds)
        finally:
            worker.stop()
        return served, worker.log_tail()

    worker = WorkerProcess(settings, home).start().wait_ready()
    try:
        asyncio.run(publish(settings, published))
        worker.wait_for("/state/hash", seed_folded(published))
    finally:
        worker.stop()

    rounds = 1  # restarted on its data directory: the same state, served and on disk
    served, _ = serve("probe-restart")
    on_disk = stores_read_back(tabledir)
    assert state_hash(on_disk, 4) == served["sha256"]
    assert len(on_disk["events"]) == served["events"] and len(on_disk["stance-history"]) == served["claims"]
    persisted = [s.persisted for s in stores_on_disk(tabledir, CACHE)]
    assert len(persisted) == 12 and None not in persisted, persisted

    # A store claiming more of its changelog than the changelog holds (as after the topic was
    # deleted and made again): deleted at start and recovered from the changelog.
    forged = next(s for s in stores_on_disk(tabledir, CACHE) if s.table == "events")
    db = TunedOptions(CACHE).open(forged.path)
    db.put(OFFSET_KEY, b"1000000000")
    db.close()
    rounds = 2
    served, log = serve("probe-forged")
    assert f"deleted {forged.path.name}" in log
    assert state_hash(stores_read_back(tabledir), 4) == served["sha256"]

    # The whole data directory gone: everything recovered from the changelogs.
    shutil.rmtree(home / "workers")
    rounds = 3
    served, _ = serve("probe-wiped")
    assert state_hash(stores_read_back(tabledir), 4) == served["sha256"]
