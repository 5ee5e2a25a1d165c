"""The worker's producer keeps knowing the topics it writes to (streams/kafka/producer_metadata.py)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from streams.kafka.producer_metadata import keep_metadata_for
from streams.settings import Settings
from streams.topics import FOREVER, TopicSpec, ensure_topics


async def create(settings: Settings, name: str) -> str:
    await ensure_topics(settings, [TopicSpec(name, "test", FOREVER)])
    return name


async def test_a_topic_known_at_start_is_kept_once_the_producer_tracks_new_ones(
    settings: Settings,
) -> None:
    known = await create(settings, f"{settings.topic_prefix}known")
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap)
    await producer.start()
    try:
        client = producer.client
        await client.force_metadata_update()  # tracking nothing, the client learns every topic
        await producer.send_and_wait(known, b"known already: not tracked", partition=0)
        # As faust does with its changelogs: a topic created after the producer started.
        await producer.send_and_wait(await create(settings, f"{settings.topic_prefix}new-1"), b"x")
        await client.force_metadata_update()
        assert client.cluster.partitions_for_topic(known) is None, "aiokafka keeps it now: recheck"

        keep_metadata_for(client, [known])
        await client.force_metadata_update()
        await producer.send_and_wait(await create(settings, f"{settings.topic_prefix}new-2"), b"y")
        await client.force_metadata_update()
        assert client.cluster.partitions_for_topic(known) == set(range(settings.partitions))
        assert (await producer.send_and_wait(known, b"sent", partition=0)).offset == 1
    finally:
        await producer.stop()
