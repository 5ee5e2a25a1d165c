"""The agents: thin loops that hand each record to the pipeline.

Decisions are in `ingest` and `fold`; store handling in `pipeline`. An
exception from one record sends that record to the dead-letter topic with
its reason and the loop goes on: one bad record never stops an agent.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.types import TP

from schemas.stances import StanceChange
from streams.core.dead_letters import error_text
from streams.core.pipeline import CatchUp, Pipeline
from streams.core.records import ClaimOp, RetractRequest, encode
from streams.kafka.partitioner import partition_of
from streams.kafka.producer_metadata import keep_metadata_for
from streams.settings import Topics
from streams.worker.deliveries import Delivery, retriable
from streams.worker.store import KeyPartitionedStore
from streams.worker.tables import ChangelogOutbox

logger = logging.getLogger(__name__)


class TopicEmitter:
    """Sends the pipeline's outputs to their topics (the worker's Emitter).

    Outputs go straight to the producer: faust's `Topic.send` wraps each record
    in a future message, sensor calls and callbacks, which cost about as much
    as the aiokafka send itself (bench/profile_live.py). The partition comes
    from the key with the same partitioner, and a failed delivery is logged as
    faust does. The tables' changelog records go the same way, at the end of
    each event's step (`tables.ChangelogOutbox`). Before its first send it
    makes the producer track every topic the worker writes, outputs and
    changelogs (`producer_metadata`).
    """

    def __init__(self, app: faust.App, topics: dict[str, Any], outbox: ChangelogOutbox) -> None:
        self.app = app
        self.topics = topics
        self.outbox = outbox
        self.names = {role: topic.get_topic_name() for role, topic in topics.items()}
        self._producer: Any = None
        self._stores: dict[str, Any] = {}
        """changelog topic -> the table's store, whose persisted offset follows the acks."""
        self._deliveries: dict[int, Delivery] = {}
        """id(event) -> the sends its step made (`deliveries`), until the event is finished."""
        self._retries: set[asyncio.Future[None]] = set()
        """Dead-letter sends under way for events whose outputs Kafka refused."""

    async def producer(self) -> Any:
        """The app's producer, started once (as faust's `Topic.send` does) and then kept.

        `app.maybe_start_producer` yields to the event loop three times on every
        call (mode's `stampede` wrapper), and the worker sends four to five
        records per event.
        """
        if self._producer is None:
            producer = await self.app.maybe_start_producer()
            self._stores = {
                table.changelog_topic.get_topic_name(): table.data for table in self.app.tables.values()
            }
            changelogs = list(self._stores)
            keep_metadata_for(producer._ensure_producer().client, [*self.names.values(), *changelogs])
            self._producer = producer
        return self._producer

    async def dead_letter(
        self,
        key: bytes | None,
        value: bytes | None,
        reason: str,
        error: str,
        event: faust.EventT[Any] | None = None,
    ) -> None:
        source = event or faust.current_event()
        headers = dead_letter_headers(reason, error, source)
        logger.warning("dead-lettered a record (%s): %s", reason, error[:200])
        await self._produce(self.names["dlq"], None, key, bounded(value), headers, source)

    async def claim(self, actor_id: str, op: bytes) -> None:
        await self._send("claims", actor_id.encode(), op)

    async def retract(self, request: RetractRequest) -> None:
        await self._send("retractions", request.target.encode(), encode(request))

    async def change(self, change: StanceChange) -> None:
        await self._send("changes", change.actor_id.encode(), encode(change))

    async def reroute(self, event: faust.EventT[Any], partition: int) -> None:
        """Send an event read on the wrong partition to its key's own, with its own timestamp.

        The tables are placed by key (murmur2, as Kafka's default partitioner places a
        keyed record); an event a client put elsewhere would otherwise be folded by a
        worker that does not hold its key. The copy is the same record, so a replay of
        the whole topic sees it as the very record again (a duplicate that changes nothing).
        """
        message = event.message
        origin = f"{message.topic}/{message.partition}/{message.offset}".encode()
        logger.warning(
            "event %r was on partition %d of %s, not its key's %d: sent on there",
            event.key,
            message.partition,
            message.topic,
            partition,
        )
        await self._produce(
            message.topic,
            partition,
            event.key,
            event.value,
            [("timeline.rerouted_from", origin)],
            event,
            timestamp=message.timestamp,
        )

    async def send_changelogs(self, event: faust.EventT[Any]) -> None:
        """Send the changelog records of the table writes made for `event` (`tables.ChangelogOutbox`)."""
        for topic, partition, key, value in self.outbox.take(event):
            sent = await self._produce(topic, partition, key, value)
            sent.add_done_callback(functools.partial(self._persist_offset, topic))

    def _persist_offset(self, topic: str, sent: Any) -> None:
        """Record in the store how far its changelog is written, so a restart reads only the rest.

        faust does this for the changelog records it sends itself; the outbox sends them here.
        """
        if sent.cancelled() or sent.exception() is not None:
            return
        store = self._stores[topic]
        if isinstance(store, KeyPartitionedStore):
            metadata = sent.result()
            store.written_to_changelog(TP(topic, metadata.partition), metadata.offset)

    async def _send(self, role: str, key: bytes, value: bytes) -> None:
        await self._produce(self.names[role], None, key, value)

    async def _produce(
        self,
        topic: str,
        partition: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
        event: faust.EventT[Any] | None = None,
        timestamp: float | None = None,
    ) -> Any:
        producer = await self.producer()
        try:
            sent = await producer.send(topic, key, value, partition, timestamp, headers)
        except Exception as error:  # noqa: BLE001 - a refused send settles the event like a failed one
            sent = asyncio.get_running_loop().create_future()
            sent.set_exception(error)
        source = event or faust.current_event()
        delivery = self._delivery(source)
        delivery.track(sent)
        if source is None:
            delivery.close()  # sent outside an event: nothing to ack, a failure is still said
        return sent

    def _delivery(self, event: faust.EventT[Any] | None) -> Delivery:
        if event is None:
            return Delivery(lambda errors: _log_failures(errors, "a record sent outside an event"))
        found = self._deliveries.get(id(event))
        if found is None:
            found = self._deliveries[id(event)] = Delivery(functools.partial(self._settle, event))
        return found

    def finish(self, event: faust.EventT[Any]) -> None:
        """The event's step is over: ack it once everything it sent has reached Kafka."""
        self._delivery(event)
        self._deliveries.pop(id(event)).close()

    def abandon(self, event: faust.EventT[Any]) -> None:
        """The step was interrupted: the event stays unacknowledged, to be read again."""
        self._deliveries.pop(id(event), None)
        self.outbox.take(event)

    def _settle(self, event: faust.EventT[Any], errors: list[BaseException]) -> None:
        if not errors:
            event.ack()
        elif retriable(errors):
            _log_failures(errors, "left unacknowledged, to be read again")
        else:
            _log_failures(errors, "dead-lettered")
            task = asyncio.ensure_future(self._dead_letter_unsent(event, errors))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)

    async def _dead_letter_unsent(self, event: faust.EventT[Any], errors: list[BaseException]) -> None:
        """A record whose outputs Kafka refused: to the dead-letter topic, then acked."""

        def settle(failed: list[BaseException]) -> None:
            if failed:
                _log_failures(failed, "not dead-lettered; read again")
            else:
                event.ack()

        delivery = Delivery(settle)
        headers = dead_letter_headers("send_failed", error_text(errors[0]), event)
        producer = await self.producer()
        try:
            sent = await producer.send(
                self.names["dlq"], event.key, bounded(event.value), None, None, headers
            )
        except Exception as error:  # noqa: BLE001 - left unacked: the event is read again
            _log_failures([error], "not dead-lettered; read again")
            return
        delivery.track(sent)
        delivery.close()


def _log_failures(errors: list[BaseException], what: str) -> None:
    """One line for the failures of an event's sends (the record is not lost: see `deliveries`)."""
    logger.error("could not send %d record(s), %s: %r", len(errors), what, errors[0])


DEAD_LETTER_VALUE_BYTES = 900 * 1024
"""Past this a dead letter keeps the head of the original bytes (its offset names the whole)."""


def bounded(value: bytes | None) -> bytes:
    """A dead letter's value: the original bytes, cut to fit a request (`dlq.truncated` says so)."""
    raw = value if value is not None else b""
    return raw[:DEAD_LETTER_VALUE_BYTES]


def dead_letter_headers(reason: str, error: str, event: faust.EventT[Any] | None) -> list[tuple[str, bytes]]:
    """Why, and where from, for a dead letter whose value is the original bytes."""
    headers = [("dlq.reason", reason.encode()), ("dlq.error", error[:4000].encode())]
    if event is not None:
        message = event.message
        headers += [
            ("dlq.topic", message.topic.encode()),
            ("dlq.partition", str(message.partition).encode()),
            ("dlq.offset", str(message.offset).encode()),
        ]
        if len(event.value or b"") > DEAD_LETTER_VALUE_BYTES:
            headers.append(("dlq.truncated", str(len(event.value or b"")).encode()))
    return headers


def register_agents(
    app: faust.App,
    topic_names: Topics,
    pipeline: Pipeline,
    outbox: ChangelogOutbox,
    partitions: int,
    catch_up: CatchUp | None = None,
) -> dict[str, Any]:
    """Declare the topics and the three agents; return the topics by role.

    `partitions` is every topic's partition count: an event is folded on its key's partition.
    `catch_up` reads the registry topic to its end when an event names an id the pipeline's
    registry view lacks (`RegistryReader.catch_up`); the ingest step then decides again.
    """
    topics = {
        "events": app.topic(topic_names.events),
        "claims": app.topic(topic_names.claims),
        "retractions": app.topic(topic_names.retractions),
        "dlq": app.topic(topic_names.dead_letters),
        "changes": app.topic(topic_names.stance_changes),
    }
    emitter = TopicEmitter(app, topics, outbox)
    Step = Callable[[faust.EventT[Any]], Awaitable[None]]

    async def ingest_step(event: faust.EventT[Any]) -> None:
        if event.key is not None and (home := partition_of(event.key, partitions)) != event.message.partition:
            await emitter.reroute(event, home)
            return
        timestamp_ms = round(event.message.timestamp * 1000)
        await pipeline.on_event_caught_up(event.key, event.value, timestamp_ms, emitter, catch_up)

    async def retract_step(event: faust.EventT[Any]) -> None:
        await pipeline.on_retract(RetractRequest.model_validate_json(event.value), emitter)

    async def claim_step(event: faust.EventT[Any]) -> None:
        await pipeline.on_claim(ClaimOp.model_validate_json(event.value), emitter)

    def agent_for(step: Step) -> Callable[[faust.StreamT[Any]], Awaitable[None]]:
        async def agent(stream: faust.StreamT[Any]) -> None:
            # Acked by the emitter once everything the step sent reached Kafka (`deliveries`).
            async for event in stream.noack().events():  # type: ignore[attr-defined]
                try:
                    try:
                        await step(event)
                    except Exception as error:  # noqa: BLE001 - dead-lettered with its reason, never fatal
                        await emitter.dead_letter(
                            event.key, event.value, "processing_error", error_text(error), event
                        )
                    # Before the event is acknowledged: writes a failed step made are kept too.
                    await emitter.send_changelogs(event)
                except BaseException:
                    emitter.abandon(event)  # cancelled, or the emitter itself failed: read again
                    raise
                emitter.finish(event)

        return agent

    app.agent(topics["events"], name="ingest")(agent_for(ingest_step))
    app.agent(topics["retractions"], name="retractions")(agent_for(retract_step))
    app.agent(topics["claims"], name="stances")(agent_for(claim_step))
    return topics
