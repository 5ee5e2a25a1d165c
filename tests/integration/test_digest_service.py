"""The digest scheduler as a real process: every sink once per window, kill -9 and catch up, the
topic sink's fence, kcat. Each test makes the digests it checks (no test needs another first)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from scheduler.changes_source import changes_between
from scheduler.ledger import Ledger
from scheduler.runner import RunReport, run_subscription
from scheduler.sinks import TopicSink
from scheduler.subscriptions_file import save_subscriptions
from schemas.digests import Digest
from schemas.subscriptions import DigestSubscription, SinkConfig
from streams.clients.publisher import Publisher
from streams.clients.webhooks import verify_signature
from streams.kafka.local_broker import LocalBroker
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.conftest import free_port
from tests.integration.helpers import kcat_read, read_all, schema_errors
from tests.integration.workers import WorkerProcess, environment, own_settings, wait_for_changes

SECRET = "s3cret"


@pytest.fixture(scope="module")
def digest_settings(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return own_settings(broker.settings, tmp_path_factory.mktemp("digests"), "dig.", digest_grace_seconds=0.5)


@pytest.fixture(scope="module")
def worker(digest_settings: Settings) -> Iterator[WorkerProcess]:
    asyncio.run(ensure_topics(digest_settings))
    process = WorkerProcess(digest_settings, digest_settings.home).start().wait_ready()
    yield process
    process.stop()


class Webhook:
    """A webhook that fails its first `failures` requests with 500, then records bodies."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests = 0
        self.bodies: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests += 1
                assert verify_signature(
                    SECRET, body, self.headers["X-Timeline-Timestamp"], self.headers["X-Timeline-Signature"]
                )
                if hook.failures > 0:
                    hook.failures -= 1
                    self.send_response(500)
                else:
                    hook.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def scheduler_process(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = environment(settings) | {"TIMELINE_DIGEST_GRACE_SECONDS": str(settings.digest_grace_seconds)}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "scheduler"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def publish_one(settings: Settings, event_id: str, issue: str, score: float) -> None:
    async with Publisher(settings) as publisher:
        await publisher.publish(
            {
                "event_id": event_id,
                "type": "statement",
                "occurred_at": "2025-03-10",
                "summary": event_id,
                "stances": [
                    {"actor_id": "emmanuel-macron", "issue_id": issue, "position": "support", "score": score}
                ],
            }
        )


def windows_of(ledger_path: Path, subscription_id: str) -> list[tuple[str, str]]:
    ledger = Ledger(ledger_path)
    try:
        rows = ledger.connection.execute(
            "SELECT window_start, window_end FROM digests WHERE subscription_id = ? ORDER BY window_start",
            (subscription_id,),
        ).fetchall()
    finally:
        ledger.close()
    return [(start, end) for start, end in rows]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {timeout:.0f} s")
        time.sleep(0.2)


def wait_for_windows(
    ledger_path: Path,
    subscription_id: str,
    count: int = 1,
    ending_after: datetime | None = None,
    timeout: float = 60.0,
) -> None:
    """Wait on the ledger, not the clock: a loaded CI machine starts a scheduler in seconds."""

    def built() -> bool:
        windows = windows_of(ledger_path, subscription_id) if ledger_path.exists() else []
        late_enough = ending_after is None or (
            bool(windows) and datetime.fromisoformat(windows[-1][1]) >= ending_after
        )
        return len(windows) >= count and late_enough

    wait_until(built, f"{subscription_id}: {count}+ windows, the last ending after {ending_after}", timeout)


def all_delivered(ledger_path: Path, subscription_id: str, sinks: int) -> bool:
    ledger = Ledger(ledger_path)
    try:
        delivered = len(ledger.deliveries(subscription_id))
    finally:
        ledger.close()
    return delivered == sinks * len(windows_of(ledger_path, subscription_id))


def has_change(digest: dict[str, Any], event_id: str) -> bool:
    return any(change["event_id"] == event_id for group in digest["groups"] for change in group["changes"])


def assert_contiguous(windows: list[tuple[str, str]]) -> None:
    assert windows, "no digest was built"
    assert all(windows[i][1] == windows[i + 1][0] for i in range(len(windows) - 1)), windows


def test_a_scheduled_digest_reaches_every_sink_once_per_window(
    worker: WorkerProcess, digest_settings: Settings
) -> None:
    settings = digest_settings.model_copy(update={"digests_file": digest_settings.home / "all-sinks.yaml"})
    webhook = Webhook(failures=2)
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    folder = settings.home / "digest-files"
    subscription = DigestSubscription.model_validate(
        {
            "id": "every-sink",
            "schedule": {"kind": "interval", "seconds": 3},
            "start": datetime.now(UTC).isoformat(),
            "sinks": [
                {"kind": "file", "target": str(folder)},
                {"kind": "topic"},
                {"kind": "webhook", "target": webhook.url, "secret": SECRET},
                {"kind": "smtp", "target": f"127.0.0.1:{smtp.port}/analyst@example.org", "format": "html"},
            ],
        }
    )
    save_subscriptions(settings.subscriptions_path, [subscription])
    process = scheduler_process(settings, settings.home / "scheduler-all.log")
    try:
        wait_for_windows(settings.scheduler_dir / "ledger.sqlite", "every-sink")
        asyncio.run(publish_one(settings, "digest-change-1", "ukraine-support", 0.4))
        try:
            wait_until(lambda: any(has_change(b, "digest-change-1") for b in webhook.bodies), "its digest")
        except AssertionError as error:
            changes = asyncio.run(read_all(settings, settings.topics.stance_changes))
            raise AssertionError(
                f"{error}; worker health {worker.get('/health')}; on the changes topic:"
                f" {[(r.timestamp, r.value) for r in changes]}"
            ) from error
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        smtp.stop()
        webhook.server.shutdown()
    windows = windows_of(settings.scheduler_dir / "ledger.sqlite", "every-sink")
    assert_contiguous(windows)
    ledger = Ledger(settings.scheduler_dir / "ledger.sqlite")
    deliveries = ledger.deliveries("every-sink")
    ledger.close()
    digest_ids = sorted({row[0] for row in deliveries})
    by_sink: dict[str, list[str]] = {}
    for digest_id, _, _, sink_id in deliveries:
        by_sink.setdefault(sink_id.split(":")[0], []).append(digest_id)
    assert {sink: sorted(ids) for sink, ids in by_sink.items()} == {
        sink: digest_ids for sink in ("file", "topic", "webhook", "smtp")
    }
    assert len(list(folder.iterdir())) == len(digest_ids)
    assert sorted(body["digest_id"] for body in webhook.bodies) == digest_ids  # the 2 failures were retried
    assert webhook.requests == len(digest_ids) + 2
    assert sorted(m["X-Timeline-Digest-Id"] for m in mailbox.messages) == digest_ids
    assert {m["Message-ID"] for m in mailbox.messages} == {
        f"<{i}@diplomatic-timeline.invalid>" for i in digest_ids
    }
    on_topic = asyncio.run(read_all(settings, settings.topics.digests))
    assert sorted(json.loads(r.value)["digest_id"] for r in on_topic) == digest_ids
    assert any(has_change(body, "digest-change-1") for body in webhook.bodies)


def test_scheduler_killed_and_restarted_across_windows_sends_each_window_once(
    worker: WorkerProcess, digest_settings: Settings
) -> None:
    settings = digest_settings.model_copy(update={"digests_file": digest_settings.home / "restart.yaml"})
    folder = settings.home / "restart-files"
    subscription = DigestSubscription.model_validate(
        {
            "id": "restarted",
            "schedule": {"kind": "interval", "seconds": 2},
            "start": datetime.now(UTC).isoformat(),
            "sinks": [{"kind": "file", "target": str(folder)}, {"kind": "topic"}],
        }
    )
    save_subscriptions(settings.subscriptions_path, [subscription])
    log = settings.home / "scheduler-restart.log"
    ledger = settings.scheduler_dir / "ledger.sqlite"
    first = scheduler_process(settings, log)
    wait_for_windows(ledger, "restarted", count=2)
    # Kill between runs, not between a sink's success and its ledger record: a kill
    # there sends that digest again (at least once, as the README says).
    wait_until(lambda: all_delivered(ledger, "restarted", sinks=2), "the first windows' deliveries")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    before = windows_of(ledger, "restarted")
    down_since = time.monotonic()
    asyncio.run(publish_one(settings, "while-down", "european-security-guarantees", 0.5))
    wait_for_change(worker, "while-down")  # detected while no scheduler runs
    time.sleep(max(0.0, 5 - (time.monotonic() - down_since)))  # the harm: 5 s down, windows close meanwhile
    restarted_at = datetime.now(UTC)
    second = scheduler_process(settings, log)
    # a window that closes after the restart shows the catch-up is done and the schedule goes on
    wait_for_windows(ledger, "restarted", ending_after=restarted_at + timedelta(seconds=2))
    second.send_signal(signal.SIGTERM)
    second.wait(30)
    windows = windows_of(ledger, "restarted")
    assert len(windows) >= len(before) + 3, (before, windows)  # >= 5 s down, then one window after restart
    assert_contiguous(windows)
    files = sorted(path.name for path in folder.iterdir())
    assert len(files) == len(windows) == len(set(files))
    on_topic = [
        json.loads(r.value)
        for r in asyncio.run(read_all(settings, settings.topics.digests))
        if r.key == b"restarted"
    ]
    assert len(on_topic) == len(windows) == len({d["digest_id"] for d in on_topic})
    assert any(has_change(d, "while-down") for d in on_topic), (
        "the change made while the scheduler was down is in a caught-up window"
    )


def test_kcat_reads_digests_that_match_the_json_schema(
    worker: WorkerProcess, digest_settings: Settings, repo: Path, tmp_path: Path
) -> None:
    asyncio.run(publish_one(digest_settings, "kcat-digest", "us-backstop", 0.3))
    change = wait_for_change(worker, "kcat-digest")
    report = digest_of_now(digest_settings, "kcat-schema", change, tmp_path / "ledger.sqlite")
    assert len(report.built) == 1 and not report.failed, report
    assert has_change(report.built[0].model_dump(mode="json"), "kcat-digest")
    records = kcat_read(digest_settings, digest_settings.topics.digests)
    assert [doc["digest_id"] for _, doc in records if doc["subscription_id"] == "kcat-schema"] == [
        report.built[0].digest_id
    ]
    for key, document in records:
        assert schema_errors(repo, "digest.schema.json", document) == []
        assert key == document["subscription_id"]


def wait_for_change(worker: WorkerProcess, event_id: str) -> dict[str, Any]:
    """The change an event made, once the worker serves it."""
    found = wait_for_changes(worker, lambda changes: any(c["event_id"] == event_id for c in changes))
    return next(c for c in found if c["event_id"] == event_id)


def digest_of_now(
    settings: Settings, subscription_id: str, change: dict[str, Any], ledger: Path
) -> RunReport:
    """A real run of the runner (topic sink): one-second windows from just before `change`
    was detected, coalesced into one digest once the window holding it has closed."""
    detected = datetime.fromisoformat(change["detected_at"].replace("Z", "+00:00"))
    subscription = DigestSubscription.model_validate(
        {
            "id": subscription_id,
            "schedule": {"kind": "interval", "seconds": 1},
            "start": (detected - timedelta(seconds=1)).isoformat(),
            "catch_up": "coalesce",
            "sinks": [{"kind": "topic"}],
        }
    )
    closed = detected + timedelta(seconds=1 + settings.digest_grace_seconds)
    wait_until(lambda: datetime.now(UTC) > closed, "the window holding the change closed")
    opened = Ledger(ledger)
    try:
        return asyncio.run(run_subscription(settings, subscription, opened, changes_between))
    finally:
        opened.close()


def test_the_topic_sink_sends_a_digest_once_across_restarts_and_lost_records(
    digest_settings: Settings, tmp_path: Path
) -> None:
    """A scheduler killed after the send but before the ledger's record sends again on restart:
    the topic sink finds the digest id after its first mark and sends nothing."""
    asyncio.run(ensure_topics(digest_settings))
    start = datetime(2026, 2, 1, tzinfo=UTC)
    digests = [
        Digest(
            digest_id=f"dig-fenced-{n}",
            subscription_id="fenced",
            window_start=start + timedelta(hours=n),
            window_end=start + timedelta(hours=n + 1),
            generated_at=start + timedelta(hours=n + 1),
            text=f"window {n}",
        )
        for n in range(2)
    ]
    config = SinkConfig(kind="topic")

    async def deliver(digest: Digest) -> None:  # a fresh sink and ledger each time: a restarted scheduler
        ledger = Ledger(tmp_path / "ledger.sqlite")
        try:
            await TopicSink(config, digest_settings, marks=ledger).deliver(digest)
        finally:
            ledger.close()

    asyncio.run(deliver(digests[0]))
    asyncio.run(deliver(digests[1]))  # another digest on the same partition after the first's mark
    asyncio.run(deliver(digests[0]))  # its delivery never recorded: sent again
    asyncio.run(deliver(digests[1]))
    records = asyncio.run(read_all(digest_settings, digest_settings.topics.digests))
    sent = [Digest.model_validate_json(r.value).digest_id for r in records if r.key == b"fenced"]
    assert sent == ["dig-fenced-0", "dig-fenced-1"]


def test_a_digest_over_a_megabyte_reaches_the_topic(digest_settings: Settings) -> None:
    """A busy window's digest passed Kafka's 1 MB default in `make soak`; the topic sink compresses."""
    asyncio.run(ensure_topics(digest_settings))
    filler = "Keir Starmer shifted on us-backstop. " * 60_000  # about 2.2 MB, as a busy window renders
    start = datetime(2026, 1, 1, tzinfo=UTC)
    digest = Digest(
        digest_id="dig-big-window",
        subscription_id="big",
        window_start=start,
        window_end=start + timedelta(hours=1),
        generated_at=start + timedelta(hours=1),
        text=filler,
        markdown=filler,
    )
    assert len(digest.model_dump_json()) > 4 * 1024 * 1024
    asyncio.run(TopicSink(SinkConfig(kind="topic"), digest_settings).deliver(digest))
    records = asyncio.run(read_all(digest_settings, digest_settings.topics.digests))
    found = [Digest.model_validate_json(r.value) for r in records if r.key == b"big"]
    assert [d.digest_id for d in found] == ["dig-big-window"] and found[0].text == filler
