"""A topic's partitions as the broker knows them now, for clients that assign partitions.

`AIOKafkaConsumer.partitions_for_topic` answers only for topics the client
already tracks, so a consumer about to `assign` asks the broker for fresh
metadata through its private `_client.fetch_all_metadata()` (aiokafka 0.14).
This is the one place that reaches into aiokafka for it;
`tests/unit/test_private_internals.py` fails if that call goes away.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition


async def partitions_by_topic(
    consumer: AIOKafkaConsumer, topics: Iterable[str]
) -> dict[str, list[TopicPartition]]:
    """Each named topic's partitions, sorted; an empty list for a topic the broker lacks."""
    cluster = await consumer._client.fetch_all_metadata()
    return {
        topic: [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
        for topic in topics
    }


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """One topic's partitions, sorted; empty if the broker has no such topic."""
    return (await partitions_by_topic(consumer, [topic]))[topic]


async def assign_all(consumer: AIOKafkaConsumer, topic: str, bootstrap: str) -> list[TopicPartition]:
    """Assign the consumer every partition of `topic`; a clear error if the broker has no such topic."""
    partitions = await topic_partitions(consumer, topic)
    if not partitions:
        raise RuntimeError(f"topic {topic} does not exist on {bootstrap}")
    consumer.assign(partitions)
    return partitions
