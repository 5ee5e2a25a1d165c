"""Scenario 9, digest faults: the scheduler killed with -9 across windows, a webhook failing
for its first 12 s, and every sink kind (file, topic, webhook, SMTP) at once.

The verdict is the README's promise: no window missing at any sink, no digest that
differs from the one the ledger built, every change in exactly one digest, no repeat at
the file and topic sinks (exactly once), repeats allowed at webhook and SMTP (at least
once, with the digest id) and counted in the row's note.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiosmtpd.controller import Controller

from scheduler.ledger import Ledger
from scheduler.sinks import FileSink, body_of
from scheduler.subscriptions_file import save_subscriptions
from schemas.digests import Digest
from schemas.subscriptions import DigestSubscription
from streams.kafka.local_broker import LocalBroker
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.conftest import free_port
from tests.integration.test_digest_service import Mailbox, Webhook, scheduler_process, wait_until
from tests.integration.workers import WorkerProcess
from tests.soak import generator
from tests.soak.harness import Row, Summary, publish, records_in_log_order, settle, soak_settings

SCALE = float(os.environ.get("TIMELINE_SOAK_SCALE", "1"))
SUBSCRIPTION = "soak-digest"
SINKS = 4


class FlakyWebhook(Webhook):
    """A webhook that answers 500 for its first `seconds` seconds of life."""

    def __init__(self, seconds: float) -> None:
        super().__init__(failures=10**9)
        self.until = time.monotonic() + seconds
        threading.Thread(target=self._heal, daemon=True).start()

    def _heal(self) -> None:
        time.sleep(max(0.0, self.until - time.monotonic()))
        self.failures = 0


class FolderWatch:
    """Notes each file's inode when first seen: a file written again (a new inode under the
    same name, as an atomic rename makes it) is a repeat the folder alone would not show."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.inodes: dict[str, int] = {}
        self.rewritten: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def scan(self) -> None:
        for entry in os.scandir(self.folder) if self.folder.is_dir() else ():
            if entry.name.endswith(".partial"):
                continue
            try:
                inode = entry.inode()
            except FileNotFoundError:
                continue
            if self.inodes.setdefault(entry.name, inode) != inode:
                self.rewritten.add(entry.name)

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            self.scan()

    def start(self) -> FolderWatch:
        self.thread.start()
        return self

    def finish(self) -> set[str]:
        self.stop.set()
        self.thread.join(5)
        self.scan()
        return self.rewritten


def built_digests(ledger_path: Path) -> list[Digest]:
    """The digests the ledger built for the subscription, oldest window first."""
    if not ledger_path.exists():
        return []
    ledger = Ledger(ledger_path)
    try:
        rows = ledger.connection.execute(
            "SELECT body FROM digests WHERE subscription_id = ? ORDER BY window_start", (SUBSCRIPTION,)
        ).fetchall()
    finally:
        ledger.close()
    return [Digest.model_validate_json(body) for (body,) in rows]


def delivered_everywhere(ledger_path: Path, ending_after: datetime) -> bool:
    """Every built window is at every sink, and the newest ends after `ending_after`."""
    digests = built_digests(ledger_path)
    if not digests or digests[-1].window_end < ending_after:
        return False
    ledger = Ledger(ledger_path)
    try:
        return len(ledger.deliveries(SUBSCRIPTION)) == SINKS * len(digests)
    finally:
        ledger.close()


def test_digest_faults_give_every_window_once_where_the_sink_allows(
    broker: LocalBroker, home: Path, summary: Summary
) -> None:
    settings = soak_settings(broker.settings, home, "dfault.", digest_grace_seconds=0.5)
    settings = settings.model_copy(update={"digests_file": home / "digests.yaml"})
    row = Row("9 digest faults")
    started = time.monotonic()
    webhook = FlakyWebhook(seconds=12)
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    folder = home / "digest-files"
    subscription = DigestSubscription.model_validate(
        {
            "id": SUBSCRIPTION,
            "schedule": {"kind": "interval", "seconds": 2},
            "start": datetime.now(UTC).isoformat(),
            "sinks": [
                {"kind": "file", "target": str(folder)},
                {"kind": "topic"},
                {"kind": "webhook", "target": webhook.url, "secret": "s3cret"},
                {"kind": "smtp", "target": f"127.0.0.1:{smtp.port}/analyst@example.org"},
            ],
        }
    )
    save_subscriptions(settings.subscriptions_path, [subscription])
    asyncio.run(ensure_topics(settings))
    worker = WorkerProcess(settings, settings.home).start().wait_ready(180)
    watch = FolderWatch(folder).start()
    rng = random.Random(9)
    log = home / "scheduler.log"
    ledger_path = settings.scheduler_dir / "ledger.sqlite"
    documents = generator.good_events(max(200, int(3_000 * SCALE)), seed=109)
    try:
        scheduler = scheduler_process(settings, log)
        for piece in range(3):
            publish(settings, documents[piece * len(documents) // 3 : (piece + 1) * len(documents) // 3])
            time.sleep(rng.uniform(2.5, 5.5))  # harm at a random moment, not a wait for anything
            scheduler.kill()  # kill -9, across a window boundary (windows are 2 s)
            scheduler.wait(10)
            row.kills += 1
            time.sleep(rng.uniform(1.0, 3.0))  # down while a window closes
            scheduler = scheduler_process(settings, log)
        settle(settings, settings.topics.stance_changes)  # every change detected: none after now
        quiet = datetime.now(UTC)
        wait_until(lambda: webhook.failures == 0, "the webhook healed", timeout=60)
        healed = datetime.now(UTC)
        wait_until(
            lambda: delivered_everywhere(ledger_path, max(quiet, healed) + timedelta(seconds=2)),
            "every window at every sink, the last one closed after the changes stopped and the hook healed",
            timeout=180,
        )
        scheduler.terminate()
        scheduler.wait(30)
        row.events = len(documents)
        row.seconds = time.monotonic() - started
        verdict = judge(
            settings, subscription, built_digests(ledger_path), ledger_path, watch, webhook, mailbox
        )
        repeats = verdict["repeats"]
        row.duplicate_changes = repeats["file"] + repeats["topic"]
        row.missing_changes = len(verdict["missing_changes"])
        row.mismatches = len(verdict["wrong"]) + len(verdict["missing"])
        row.note = (
            f"{verdict['windows']} windows, contiguous: {verdict['contiguous']};"
            f" scheduler killed {row.kills}x; webhook failed {webhook.requests - len(webhook.bodies)}"
            f" requests first; repeats (at least once, same digest id): webhook {repeats['webhook']},"
            f" smtp {repeats['smtp']}; file {repeats['file']}, topic {repeats['topic']};"
            f" {verdict['changes']:,} changes, each in one digest"
        )
        assert verdict["windows"] >= 10 and verdict["contiguous"]
        assert not verdict["missing"], verdict["missing"][:5]
        assert not verdict["wrong"], verdict["wrong"][:5]
        assert not verdict["missing_changes"] and not verdict["changes_twice"], (
            verdict["missing_changes"][:5],
            verdict["changes_twice"][:5],
        )
        assert repeats["file"] == 0 and repeats["topic"] == 0, repeats
        row.passed = True
    finally:
        watch.finish()
        worker.stop()
        webhook.server.shutdown()
        smtp.stop()
        summary.add(row)


def judge(
    settings: Settings,
    subscription: DigestSubscription,
    digests: list[Digest],
    ledger_path: Path,
    watch: FolderWatch,
    webhook: Webhook,
    mailbox: Mailbox,
) -> dict[str, Any]:
    """What each sink got, against what the ledger built."""
    built = {digest.digest_id: digest for digest in digests}
    missing: list[str] = []
    wrong: list[str] = []
    ledger = Ledger(ledger_path)
    try:
        recorded = Counter(sink_id.split(":")[0] for _, _, _, sink_id in ledger.deliveries(SUBSCRIPTION))
    finally:
        ledger.close()
    missing += [
        f"ledger: {kind} has {recorded[kind]} of {len(built)}"
        for kind in ("file", "topic", "webhook", "smtp")
        if recorded[kind] != len(built)
    ]

    config = subscription.sinks[0]
    names = {FileSink(config).path_for(d).name: d for d in digests}
    files = {path.name: path for path in Path(config.target or "").iterdir()}
    missing += [f"file {name}" for name in names.keys() - files.keys()]
    wrong += [f"file {name}: no such window" for name in files.keys() - names.keys()]
    wrong += [
        f"file {name}: content differs"
        for name, digest in names.items()
        if name in files and files[name].read_text("utf-8") != body_of(digest, config.format)
    ]

    received: dict[str, list[tuple[str, bool]]] = {"topic": [], "webhook": [], "smtp": []}
    for record in records_in_log_order(settings, settings.topics.digests):
        if record.key == SUBSCRIPTION.encode() and record.value is not None:
            got = Digest.model_validate_json(record.value)
            received["topic"].append((got.digest_id, built.get(got.digest_id) == got))
    for body in webhook.bodies:
        got = Digest.model_validate(body)
        received["webhook"].append((got.digest_id, built.get(got.digest_id) == got))
    for message in mailbox.messages:
        digest_id = str(message["X-Timeline-Digest-Id"])
        text = next(part for part in message.walk() if part.get_content_type() == "text/plain")
        same = (
            digest_id in built
            and message["Message-ID"] == f"<{digest_id}@diplomatic-timeline.invalid>"
            # SMTP carries CRLF line ends
            and text.get_payload(decode=True).decode().replace("\r\n", "\n")
            == body_of(built[digest_id], "text")
        )
        received["smtp"].append((digest_id, same))
    for sink, taken in received.items():
        missing += [f"{sink} {digest_id}" for digest_id in built.keys() - {i for i, _ in taken}]
        wrong += [f"{sink} {digest_id}" for digest_id, same in taken if not same]
    repeats = {sink: len(taken) - len({i for i, _ in taken}) for sink, taken in received.items()}
    repeats["file"] = len(watch.rewritten)

    in_digests = Counter(
        change.change_id for digest in digests for group in digest.groups for change in group.changes
    )
    start, end = digests[0].window_start, digests[-1].window_end
    detected: set[str] = set()
    for record in records_in_log_order(settings, settings.topics.stance_changes):
        change = orjson.loads(record.value or b"{}")
        if start <= datetime.fromisoformat(change["detected_at"].replace("Z", "+00:00")) < end:
            detected.add(change["change_id"])
    return {
        "windows": len(digests),
        "contiguous": all(a.window_end == b.window_start for a, b in itertools.pairwise(digests)),
        "missing": missing,
        "wrong": wrong + [f"change {c} in no window of the run" for c in in_digests.keys() - detected],
        "repeats": repeats,
        "changes": len(detected),
        "missing_changes": sorted(detected - in_digests.keys()),
        "changes_twice": sorted(c for c, n in in_digests.items() if n > 1),
    }
