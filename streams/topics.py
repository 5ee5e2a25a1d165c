"""Topic names, their policies, and explicit, idempotent creation.

Every topic is created with one configured partition count: faust requires
a table's source topic and its changelog to be co-partitioned, and a silently
auto-created one-partition topic breaks that (`PartitionsMismatch`). So the
broker does not auto-create topics, and a topic that exists with another
partition count is an error, never silently changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.kafka import connection
from streams.settings import Settings, Topics

DAY_MS = 24 * 3600 * 1000
FOREVER = -1


class TopicMismatchError(RuntimeError):
    """A topic exists with a partition count other than the configured one."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    purpose: str
    retention_ms: int
    configs: dict[str, str] = field(default_factory=dict)

    def topic_configs(self) -> dict[str, str]:
        return {"cleanup.policy": "delete", "retention.ms": str(self.retention_ms), **self.configs}


def topic_specs(topics: Topics) -> list[TopicSpec]:
    """Every topic the project creates, with its purpose and retention."""
    return [
        TopicSpec(topics.events, "the log of diplomatic events (key: event_id)", FOREVER),
        TopicSpec(
            topics.registry, "every version of every actor and issue (key: actor:ID, issue:ID)", FOREVER
        ),
        TopicSpec(topics.dead_letters, "rejected records with their reason", 365 * DAY_MS),
        TopicSpec(topics.stance_changes, "stance changes (key: actor_id)", 365 * DAY_MS),
        TopicSpec(topics.digests, "rendered digests (key: subscription id)", 90 * DAY_MS),
        TopicSpec(topics.claims, "internal: claims by actor_id", 30 * DAY_MS),
        TopicSpec(topics.retractions, "internal: retractions by retracted event_id", 30 * DAY_MS),
    ]


@dataclass(frozen=True)
class TopicReport:
    created: list[str]
    existing: list[str]


async def ensure_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> TopicReport:
    """Create the project's topics if missing; check the partition count of every one.

    An empty registry topic gets the bundled registry and TIMELINE_REGISTRY_FILES, registered
    since the start of the log (`streams.registry.loading.seed_if_empty`).
    """
    specs = specs if specs is not None else topic_specs(settings.topics)
    report = await _ensure(settings, specs)
    if settings.topics.registry in {spec.name for spec in specs}:
        from streams.registry.loading import seed_if_empty

        await seed_if_empty(settings)
    return report


async def _ensure(settings: Settings, specs: list[TopicSpec]) -> TopicReport:
    names = [spec.name for spec in specs]
    admin = connection.admin(settings, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = await _partition_counts(admin, names)
        _check_partitions(existing, settings.partitions)
        missing = [spec for spec in specs if spec.name not in existing]
        created: list[str] = []
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(
                        name=spec.name,
                        num_partitions=settings.partitions,
                        replication_factor=settings.replication_factor,
                        topic_configs=spec.topic_configs(),
                    )
                    for spec in missing
                ]
            )
            errors = []
            for topic_error in response.topic_errors:
                name, code = topic_error[0], topic_error[1]
                if code == 0:
                    created.append(name)
                elif code != 36:  # 36: TOPIC_ALREADY_EXISTS, made by someone else meanwhile
                    message = topic_error[2] if len(topic_error) > 2 else ""
                    errors.append(f"{name}: error {code} {message}")
            if errors:
                raise RuntimeError("could not create topics: " + "; ".join(errors))
        # Metadata spreads asynchronously: wait until every topic is visible, then check them all.
        _check_partitions(await _partition_counts(admin, names, require_all=True), settings.partitions)
        return TopicReport(created=created, existing=[name for name in names if name not in created])
    finally:
        await admin.close()


async def _partition_counts(
    admin: AIOKafkaAdminClient, names: list[str], require_all: bool = False
) -> dict[str, int]:
    """Partition count of each named topic that exists (with `require_all`, of every one).

    Metadata of a topic created a moment ago may be missing or say
    LEADER_NOT_AVAILABLE; such answers are asked again for a few seconds.
    """
    wanted: list[str] = []
    for _ in range(100):
        present = set(await admin.list_topics())
        wanted = [name for name in names if name in present]
        if require_all and len(wanted) < len(names):
            await asyncio.sleep(0.1)
            continue
        if not wanted:
            return {}
        described = await admin.describe_topics(wanted)
        if all(topic["error_code"] == 0 and topic["partitions"] and _led(topic) for topic in described):
            return {topic["topic"]: len(topic["partitions"]) for topic in described}
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no usable metadata for topics {sorted(set(names) - set(wanted)) or names}")


def _led(topic: dict[str, Any]) -> bool:
    """Every partition has a leader: a client reading at once gets no NotLeaderForPartition."""
    return all(part.get("error_code", 0) == 0 and part.get("leader", -1) >= 0 for part in topic["partitions"])


def _check_partitions(counts: dict[str, int], expected: int) -> None:
    wrong = {name: count for name, count in counts.items() if count != expected}
    if wrong:
        described = ", ".join(f"{name} has {count}" for name, count in sorted(wrong.items()))
        raise TopicMismatchError(
            f"partition count mismatch: {described}, but TIMELINE_PARTITIONS is {expected}."
            " Topics are never changed silently: set TIMELINE_PARTITIONS to match, or use a"
            " new TIMELINE_TOPIC_PREFIX (or delete the topics) to start over."
        )


async def list_topics(settings: Settings) -> dict[str, int]:
    """Every topic on the broker with its partition count."""
    admin = connection.admin(settings, request_timeout_ms=30000)
    await admin.start()
    try:
        return await _partition_counts(admin, await admin.list_topics())
    finally:
        await admin.close()
