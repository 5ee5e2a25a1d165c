"""aiokafka internals the project relies on: fail here, not in production, when they change."""

from __future__ import annotations

import inspect

from aiokafka import AIOKafkaConsumer
from aiokafka.client import AIOKafkaClient
from aiokafka.cluster import ClusterMetadata


async def test_consumer_has_a_client_that_fetches_all_metadata() -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
    try:
        assert isinstance(consumer._client, AIOKafkaClient)
        assert inspect.iscoroutinefunction(consumer._client.fetch_all_metadata)
        assert callable(ClusterMetadata.partitions_for_topic)
    finally:
        await consumer.stop()
