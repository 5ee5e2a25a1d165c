"""Explicit topic creation: idempotent, and a partition mismatch is a clear error."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.settings import Settings
from streams.topics import TopicMismatchError, ensure_topics, list_topics, topic_specs


async def test_topics_created_once_then_found(settings: Settings) -> None:
    names = [spec.name for spec in topic_specs(settings.topics)]
    first = await ensure_topics(settings)
    assert sorted(first.created) == sorted(names) and first.existing == []
    second = await ensure_topics(settings)
    assert second.created == [] and sorted(second.existing) == sorted(names)
    counts = await list_topics(settings)
    assert {name: counts[name] for name in names} == {name: settings.partitions for name in names}


async def test_partition_mismatch_is_an_error_not_a_change(settings: Settings) -> None:
    topics = settings.topics
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topics.events, 2, 1)])
        while topics.events not in await admin.list_topics():  # as if it had been there for long
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
    with pytest.raises(TopicMismatchError, match=r"events has 2, but TIMELINE_PARTITIONS is 4"):
        await ensure_topics(settings)
    counts = await list_topics(settings)
    assert counts[topics.events] == 2
    assert topics.stance_changes not in counts
