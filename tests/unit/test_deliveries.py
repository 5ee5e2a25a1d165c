"""An event's sends are settled once: after the step closed them and every one is done."""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from streams.worker.deliveries import Delivery, retriable


async def test_settles_once_after_close_and_every_send() -> None:
    loop = asyncio.get_running_loop()
    settled: list[list[BaseException]] = []
    delivery = Delivery(settled.append)
    first, second = loop.create_future(), loop.create_future()
    delivery.track(first)
    delivery.track(second)
    first.set_result(None)
    await asyncio.sleep(0)
    delivery.close()
    assert settled == []  # one send still under way
    second.set_exception(MessageSizeTooLargeError())
    await asyncio.sleep(0)
    assert len(settled) == 1 and isinstance(settled[0][0], MessageSizeTooLargeError)


async def test_an_event_that_sent_nothing_settles_at_close() -> None:
    settled: list[list[BaseException]] = []
    delivery = Delivery(settled.append)
    delivery.close()
    delivery.close()
    assert settled == [[]]


def test_only_failures_kafka_calls_retriable_leave_the_event_to_be_read_again() -> None:
    assert retriable([KafkaConnectionError()])
    assert not retriable([KafkaConnectionError(), MessageSizeTooLargeError()])
    assert not retriable([ValueError("not a Kafka error")])
