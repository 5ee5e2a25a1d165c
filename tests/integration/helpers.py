"""Reading topics back with a plain aiokafka consumer, for assertions."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
from aiokafka.structs import ConsumerRecord

from streams.kafka import connection
from streams.kafka.metadata import topic_partitions
from streams.settings import Settings


async def read_all(
    settings: Settings, topic: str, expected: int | None = None, timeout: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read a topic from the beginning: until `expected` records arrived, or with
    `expected=None` up to the end it had when the read began."""
    consumer = connection.consumer(settings, enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        partitions = await topic_partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if expected is not None and len(records) >= expected:
                break
            if expected is None and all([await consumer.position(p) >= ends[p] for p in partitions]):
                break
            batches = await consumer.getmany(timeout_ms=300)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return sorted(records, key=lambda record: (record.timestamp, record.partition, record.offset))


def kcat_read(settings: Settings, topic: str) -> list[tuple[str, Any]]:
    """Every record of a topic as read by kcat (a client no one here wrote): (key, JSON value)."""
    kcat = shutil.which("kcat")
    assert kcat is not None, "kcat is missing: 'make test' installs it (apt-get install kcat)"
    result = subprocess.run(
        [kcat, "-b", settings.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    records = []
    for line in result.stdout.splitlines():
        if line:
            key, value = line.split("\t", 1)
            records.append((key, json.loads(value)))
    return records


def schema_errors(repo: Path, schema_file: str, document: Any) -> list[str]:
    """What the exported JSON Schema says is wrong with a document (empty when valid)."""
    schema = json.loads((repo / "schemas" / "jsonschema" / schema_file).read_text())
    return [error.message for error in jsonschema.Draft202012Validator(schema).iter_errors(document)]
