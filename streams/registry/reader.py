"""The live registry: its own consumer of `diplomacy.registry`, no group, every partition
assigned, read from the beginning, so every worker, publisher and API sees every version.

Not faust's GlobalTable: its gaps across workers are open bugs (faust-streaming #283, #212),
and the pipeline needs "as of recorded_at", which a table of latest values cannot answer.

`catch_up(as_of)` is the one I/O the pipeline asks for: the agent (or the replay driver)
calls it when an event names an id the view lacks and the view is not known to be complete
through the event's `recorded_at`; then it runs the pure step again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.actors import Actor
from schemas.issues import Issue
from schemas.registry import Registry
from schemas.registry_log import BadRecord, RegistryHistory, decode_record
from streams.kafka import connection
from streams.kafka.metadata import topic_partitions
from streams.registry import RegistryUnavailable
from streams.settings import Settings

logger = logging.getLogger(__name__)

FOLLOW_SECONDS = 1.0
"""How often a started reader reads the topic's new records (the API's freshness)."""
MAX_WAIT_SECONDS = 90.0
"""The longest a catch-up waits for an instant ahead of this clock (`ingest.RECORDED_AHEAD` keeps
an event's instant within a minute of its record's timestamp); past it, it decides at once."""
RETRY_SECONDS = 1.0
"""How long a waiting reader sleeps while the topic is missing or empty."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class RegistryReader:
    """The registry topic as a `RegistryHistory`, kept up to date.

    `wait=True` (workers): a missing or empty topic is waited for, since deciding an event
    against no registry would dead-letter it. `wait=False` (commands): `RegistryUnavailable`.
    """

    def __init__(self, settings: Settings, wait: bool = True, empty_ok: bool = False) -> None:
        self.settings = settings
        self.topic = settings.topics.registry
        self.wait = wait
        self.empty_ok = empty_ok
        self.history = RegistryHistory()
        self.skipped = 0
        """Records that are not actor or issue documents under their key (logged, never fatal)."""
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._lock = asyncio.Lock()
        self._follower: asyncio.Task[None] | None = None
        self._warned = False

    # -- the view the pipeline and the publisher read (schemas.registry_log.RegistryView) --

    @property
    def complete_through(self) -> datetime:
        return self.history.complete_through

    def as_of(self, instant: datetime) -> Registry:
        return self.history.as_of(instant)

    # -- what the query API reads (schemas.registry_log.RegistryNames) --

    @property
    def actors(self) -> Mapping[str, Actor]:
        return self.history.current().actors

    @property
    def issues(self) -> Mapping[str, Issue]:
        return self.history.current().issues

    @property
    def retired(self) -> frozenset[str]:
        """Keys (`actor:ID`, `issue:ID`) of retired ids, as `Registry.retired`."""
        return self.history.current().retired

    # -- I/O --

    async def start(self, follow: bool = True) -> None:
        """Read the topic to its end; with `follow`, keep reading it every second."""
        await self.catch_up()
        if follow and self._follower is None:
            self._follower = asyncio.ensure_future(self._follow())

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            try:
                await self._follower
            except asyncio.CancelledError:
                pass
            self._follower = None
        async with self._lock:
            if self._consumer is not None:
                await self._consumer.stop()
                self._consumer = None

    async def __aenter__(self) -> RegistryReader:
        await self.start(follow=False)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def catch_up(self, as_of: datetime | None = None) -> None:
        """Read the topic to its end, so the view is complete through now (and through `as_of`).

        A registration takes effect a moment after it is written (`loading.REGISTRATION_LEAD`),
        so everything in effect by the instant the end offsets are asked is read by then. An
        `as_of` ahead of this clock (another machine's) is waited for first.
        """
        async with self._lock:
            while True:
                if as_of is not None and as_of <= self.history.complete_through:
                    return  # another caller caught up meanwhile
                ahead = (as_of - utc_now()).total_seconds() if as_of is not None else 0.0
                if 0 < ahead <= MAX_WAIT_SECONDS:
                    await asyncio.sleep(ahead)
                started = utc_now()
                if await self._read_to_end() or self.empty_ok:
                    self.history.complete_through = started
                    if as_of is not None and ahead > MAX_WAIT_SECONDS:
                        logger.warning("an event is %.0fs ahead of this clock: decided as of now", ahead)
                        self.history.complete_through = max(started, as_of)
                    return
                if not self.wait:
                    raise RegistryUnavailable(
                        f"the registry topic {self.topic} is empty: run 'timeline topics create'"
                        " or 'timeline registry load'"
                    )
                self._warn(f"the registry topic {self.topic} is empty; waiting for 'timeline registry load'")
                await asyncio.sleep(RETRY_SECONDS)

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(FOLLOW_SECONDS)
            try:
                await self.catch_up()
            except Exception as error:  # noqa: BLE001 - the next round tries again
                logger.warning("could not read the registry topic %s: %r", self.topic, error)

    async def _read_to_end(self) -> bool:
        """Apply every record up to the topic's current end; False when the topic is empty."""
        consumer = await self._ready_consumer()
        ends = await consumer.end_offsets(self._partitions)
        remaining = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=500)
            for records in batches.values():
                for record in records:
                    self._apply(record.key, record.value)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return bool(sum(ends.values()) > 0)

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        try:
            self.history.add(decode_record(key, value))
        except BadRecord as error:
            self.skipped += 1
            logger.warning("skipped a record of %s: %s", self.topic, error)

    async def _ready_consumer(self) -> AIOKafkaConsumer:
        """The consumer, started and assigned every partition from the beginning (once)."""
        if self._consumer is not None:
            return self._consumer
        consumer = connection.consumer(
            self.settings,
            group_id=None,
            client_id=f"registry-{uuid.uuid4().hex[:6]}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            while not (partitions := await topic_partitions(consumer, self.topic)):
                if not self.wait:
                    raise RegistryUnavailable(
                        f"topic {self.topic} does not exist on {self.settings.bootstrap}:"
                        " run 'timeline topics create'"
                    )
                self._warn(f"topic {self.topic} does not exist yet; waiting for 'timeline topics create'")
                await asyncio.sleep(RETRY_SECONDS)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
        except BaseException:
            await consumer.stop()
            raise
        self._consumer, self._partitions = consumer, partitions
        return consumer

    def _warn(self, message: str) -> None:
        if not self._warned:
            logger.warning(message)
            self._warned = True


async def read_registry(settings: Settings, empty_ok: bool = False) -> RegistryHistory:
    """The whole registry topic, read once to its end (for commands); `RegistryUnavailable` when
    the topic is missing (or empty, unless `empty_ok`)."""
    async with RegistryReader(settings, wait=False, empty_ok=empty_ok) as reader:
        return reader.history
