"""Running soak scenarios: real workers, paced publishing, waiting, and the oracle's checks.

Every check reads what a user would read: the worker's HTTP API for the view,
the stance-change topic for changes, the dead-letter topic for bad input.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from bench.generate import write_registry
from schemas.events import DiplomaticEvent
from streams.clients.publisher import Publisher
from streams.kafka.metadata import partitions_by_topic
from streams.query.client import QueryError
from streams.registry_files import load_registry
from streams.settings import Settings
from tests.integration.conftest import free_port
from tests.integration.helpers import read_all
from tests.integration.workers import WorkerProcess
from tests.soak.oracle import ChangeReport, compare_changes, expected_changes, expected_view, view_mismatches

Document = dict[str, Any]


@dataclass
class Row:
    """One scenario's figures, as the summary table prints them."""

    scenario: str
    events: int = 0
    seconds: float = 0.0
    kills: int = 0
    recover_s: float | None = None
    dlq: int = 0
    mismatches: int = 0
    missing_changes: int = 0
    duplicate_changes: int = 0
    passed: bool = False
    note: str = ""


@dataclass
class Summary:
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"\n[soak] {self.line(row)}", flush=True)

    HEADER = (
        "| scenario | events | seconds | kills | recover s | DLQ | mismatches"
        " | missing chg | dup chg | result | note |"
    )

    @staticmethod
    def line(row: Row) -> str:
        recover = "-" if row.recover_s is None else f"{row.recover_s:.1f}"
        return (
            f"| {row.scenario} | {row.events:,} | {row.seconds:.0f} | {row.kills} | {recover} | {row.dlq:,}"
            f" | {row.mismatches} | {row.missing_changes} | {row.duplicate_changes}"
            f" | {'pass' if row.passed else 'FAIL'} | {row.note} |"
        )

    def table(self) -> str:
        lines = [self.HEADER, "|" + "---|" * 11]
        lines += [self.line(row) for row in self.rows]
        return "\n".join(lines)

    def write(self, folder: Path, machine: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "summary.json").write_text(
            json.dumps({"machine": machine, "rows": [asdict(row) for row in self.rows]}, indent=2) + "\n"
        )
        path = folder / "summary.md"
        path.write_text(f"# make soak: summary\n\nMachine: {machine}\n\n{self.table()}\n")
        return path


def soak_settings(broker_settings: Settings, home: Path, prefix: str, **extra: Any) -> Settings:
    """The broker's settings with a topic prefix, home and web port of the scenario's own,
    and the synthetic actors and issues in the registry."""
    home.mkdir(parents=True, exist_ok=True)
    registry_file = write_registry(home / "registry.yaml")
    return broker_settings.model_copy(
        update={
            "topic_prefix": prefix,
            "home": home,
            "web_port": free_port(),
            "registry_files": [registry_file],
            **extra,
        }
    )


def with_port(settings: Settings) -> Settings:
    """The same topics and home, another web port: a second worker of the same app."""
    return settings.model_copy(update={"web_port": free_port()})


# -- publishing ---------------------------------------------------------------


def prepare(settings: Settings, documents: Sequence[Document]) -> list[tuple[DiplomaticEvent, bytes]]:
    publisher = Publisher(settings, load_registry(settings.registry_files))
    return [publisher.prepare(doc, line=index) for index, doc in enumerate(documents, start=1)]


async def send_prepared(
    settings: Settings,
    prepared: Sequence[tuple[DiplomaticEvent, bytes]],
    rate: float | None = None,
    chunk: int = 500,
) -> int:
    """Send validated events in chunks, at `rate` events/s if given. A chunk the broker did
    not take (it was restarting) is sent again on a fresh connection: the event ids make the
    copies duplicates the pipeline ignores. Returns how many chunks had to be retried."""
    retries = 0
    publisher = Publisher(settings, load_registry(settings.registry_files))
    await publisher.start()
    started = time.monotonic()
    try:
        for start in range(0, len(prepared), chunk):
            part = prepared[start : start + chunk]
            while True:
                try:
                    await publisher.send_prepared(part)
                    break
                except (KafkaError, OSError) as error:
                    retries += 1
                    print(f"[soak] publish chunk at {start} failed ({error!r}); retrying", flush=True)
                    await publisher.stop()
                    await asyncio.sleep(1)
                    while True:
                        try:
                            await publisher.start()
                            break
                        except (KafkaError, OSError):
                            await publisher.stop()
                            await asyncio.sleep(1)
            if rate is not None:
                ahead = (start + len(part)) / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    finally:
        await publisher.stop()
    return retries


def publish(settings: Settings, documents: Sequence[Document], rate: float | None = None) -> int:
    return asyncio.run(send_prepared(settings, prepare(settings, documents), rate))


class BackgroundPublisher:
    """Publishes at a steady rate from a thread while the scenario does harm."""

    def __init__(self, settings: Settings, documents: Sequence[Document], rate: float) -> None:
        self.prepared = prepare(settings, documents)
        self.settings = settings
        self.rate = rate
        self.retries = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.retries = asyncio.run(send_prepared(self.settings, self.prepared, self.rate))
        except BaseException as error:  # noqa: BLE001 - reported by join()
            self.error = error

    def start(self) -> BackgroundPublisher:
        self.thread.start()
        return self

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float = 600) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the publisher did not finish"
        if self.error is not None:
            raise self.error


async def send_raw(settings: Settings, topic: str, records: Sequence[tuple[bytes | None, bytes]]) -> None:
    """Write records as another client would: no validation at all."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, max_request_size=8 * 1024 * 1024)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


# -- workers ------------------------------------------------------------------


def kill_9(worker: WorkerProcess) -> None:
    assert worker.process is not None
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait(30)


def health(worker: WorkerProcess) -> dict[str, Any] | None:
    """The state's counts (`/state/hash`: gathered from every partition), None while it recovers."""
    try:
        answer: dict[str, Any] = worker.get("/state/hash")
        return answer
    except QueryError:
        return None


def wait_caught_up(worker: WorkerProcess, events: int, claims: int, timeout: float = 600) -> dict[str, Any]:
    """Until the worker's view holds every accepted event and claim; progress every 15 s.
    Gives up after `timeout`, or after 90 s without any progress (something was lost)."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] | None = None
    said = moved = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - moved < 90:
        assert worker.process is not None and worker.process.poll() is None, (
            f"the worker exited:\n{worker.log_tail()}"
        )
        now = health(worker)
        if now is not None and now != last:
            last, moved = now, time.monotonic()
        if last is not None and last["events"] == events and last["claims"] == claims:
            return last
        if time.monotonic() - said > 15:
            print(f"[soak]   waiting: view {last}, want events={events} claims={claims}", flush=True)
            said = time.monotonic()
        time.sleep(0.5)
    raise AssertionError(f"not caught up: {last}, want events={events} claims={claims}")


# -- reading topics ---------------------------------------------------------------


def settle(settings: Settings, *topics: str, quiet: float = 3.0, timeout: float = 120) -> None:
    """Wait until none of `topics` grows for `quiet` seconds."""

    async def ends() -> dict[str, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap)
        await consumer.start()
        try:
            found = await partitions_by_topic(consumer, topics)
            result = {}
            for topic, parts in found.items():
                result[topic] = sum((await consumer.end_offsets(parts)).values()) if parts else 0
            return result
        finally:
            await consumer.stop()

    deadline = time.monotonic() + timeout
    previous = asyncio.run(ends())
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = asyncio.run(ends())
        if now != previous:
            previous, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= quiet:
            return
    raise AssertionError(f"topics kept growing for {timeout:.0f}s: {previous}")


def records_in_log_order(settings: Settings, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    records = asyncio.run(read_all(settings, topic, expected=None, timeout=300))
    return sorted(records, key=lambda record: (record.partition, record.offset))


def dead_letters(settings: Settings) -> list[ConsumerRecord[bytes, bytes]]:
    return records_in_log_order(settings, settings.topics.dead_letters)


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str:
    return next((value.decode() for key, value in record.headers if key == name), "")


# -- the oracle's checks ----------------------------------------------------------


@dataclass
class Check:
    mismatches: list[str]
    changes: ChangeReport


def logged_events(settings: Settings) -> dict[str, bytes]:
    """event_id -> the bytes of its first record in the event log (the copy that counts)."""
    first: dict[str, bytes] = {}
    for record in records_in_log_order(settings, settings.topics.events):
        if record.key is not None and record.value is not None:
            first.setdefault(record.key.decode(errors="replace"), record.value)
    return first


def as_logged(settings: Settings, documents: Sequence[Document]) -> list[Document]:
    """The documents with the `recorded_at` the publisher gave them when it sent them."""
    logged = logged_events(settings)
    result = []
    for doc in documents:
        value = logged.get(doc["event_id"])
        recorded = orjson.loads(value)["recorded_at"] if value is not None else doc["recorded_at"]
        result.append(dict(doc, recorded_at=recorded))
    return result


def check_against_oracle(settings: Settings, worker: WorkerProcess, documents: Sequence[Document]) -> Check:
    """The served view against the event-time fold; the change topic against the claim log.

    The publisher stamps `recorded_at` when it sends, and that breaks ties in event
    time, so the oracle takes it from the log."""
    topics = settings.topics
    settle(settings, topics.claims, topics.stance_changes)
    served = worker.items("/stances")
    mismatches = view_mismatches(expected_view(as_logged(settings, documents)), served)
    claim_log = [record.value for record in records_in_log_order(settings, topics.claims)]
    expected = expected_changes(claim_log, settings.score_change_threshold)
    received = [record.value for record in records_in_log_order(settings, topics.stance_changes)]
    report = compare_changes(expected, received)
    print(
        f"[soak]   oracle: {len(served):,} stances served, {len(mismatches)} mismatches;"
        f" changes expected {report.expected:,}, received {report.received:,} ({report.distinct:,} distinct),"
        f" missing {len(report.missing)}, unexpected {len(report.unexpected)},"
        f" inconsistent {len(report.inconsistent)}",
        flush=True,
    )
    return Check(mismatches, report)


def fill(row: Row, check: Check) -> None:
    row.mismatches = len(check.mismatches)
    row.missing_changes = len(check.changes.missing)
    row.duplicate_changes = check.changes.duplicates_after_dedup + len(check.changes.unexpected)


def assert_ok(check: Check) -> None:
    assert not check.mismatches, check.mismatches[:10]
    assert check.changes.ok, (
        check.changes.missing[:5],
        check.changes.unexpected[:5],
        check.changes.inconsistent[:5],
    )
