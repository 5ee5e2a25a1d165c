"""One real Kafka broker for the whole integration session.

It is the project's own local broker (streams.kafka.local_broker), started on free
loopback ports with its data in a temporary folder and the jars fetched once
into the repository's `.timeline/kafka/libs`. If it cannot be fetched or
started, the session fails with the broker's own error: there is no stand-in.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.kafka.local_broker import LocalBroker
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
LIBS = REPO / ".timeline" / "kafka" / "libs"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def broker_settings(directory: Path, **overrides: object) -> Settings:
    return Settings(
        home=directory,
        kafka_libs_dir=LIBS,
        kafka_data_dir=directory / "kafka",
        broker_port=free_port(),
        controller_port=free_port(),
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    local = LocalBroker(broker_settings(tmp_path_factory.mktemp("broker")))
    local.start()
    yield local
    local.stop()


@pytest.fixture
def settings(broker: LocalBroker) -> Settings:
    """Settings for one test: the session broker, and a topic prefix of its own."""
    return broker.settings.model_copy(update={"topic_prefix": f"t{uuid.uuid4().hex[:8]}."})
