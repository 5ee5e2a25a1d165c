"""The worker's producer keeps knowing the topics it writes to (streams/producer_metadata.py)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.producer_metadata import keep_metadata_for
from streams.settings import Settings


async def create(settings: Settings, name: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
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
        assert client.cluster.partitions_for_topic(known) == {0, 1}
        assert (await producer.send_and_wait(known, b"sent", partition=0)).offset == 1
    finally:
        await producer.stop()
