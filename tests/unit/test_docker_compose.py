"""docker-compose.yml cannot run here (no Docker engine); check what can be checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from streams.kafka.local_broker import LocalBroker
from streams.settings import Settings

# Where the container's addresses differ from loopback by necessity.
PER_HOST = {
    "controller.quorum.voters",
    "listeners",
    "advertised.listeners",
    "log.dirs",
    "inter.broker.listener.name",
    "listener.security.protocol.map",
}


def compose(repo: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((repo / "docker-compose.yml").read_text())
    return document


def image_properties(environment: dict[str, Any]) -> dict[str, str]:
    """The official image's KAFKA_* -> server property rule (KafkaDockerWrapper)."""
    skip = {"KAFKA_HEAP_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL"}
    return {
        key.removeprefix("KAFKA_").lower().replace("___", "-").replace("__", "_").replace("_", "."): str(
            value
        )
        for key, value in environment.items()
        if key.startswith("KAFKA_") and key not in skip
    }


def local_properties(settings: Settings, tmp_path: Path) -> dict[str, str]:
    text = LocalBroker(settings.model_copy(update={"kafka_data_dir": tmp_path})).server_properties()
    pairs = [line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")]
    return {key: value for key, value in pairs}


def test_compose_file_parses_and_pins_the_broker_image(repo: Path) -> None:
    services = compose(repo)["services"]
    assert services["kafka"]["image"] == "apache/kafka:4.1.2"
    assert services["seed"]["environment"]["TIMELINE_BOOTSTRAP_SERVERS"] == "kafka:19092"


def test_compose_broker_settings_match_the_local_broker(repo: Path, tmp_path: Path) -> None:
    environment = compose(repo)["services"]["kafka"]["environment"]
    in_compose = image_properties(environment)
    local = local_properties(Settings(), tmp_path)
    shared = {key: value for key, value in local.items() if key not in PER_HOST}
    assert {key: in_compose.get(key) for key in shared} == shared
    assert in_compose["controller.quorum.voters"].startswith("1@")
    assert (
        str(compose(repo)["services"]["seed"]["environment"]["TIMELINE_PARTITIONS"])
        == (local["num.partitions"])
    )


def test_cluster_ids_are_valid_for_any_directory(tmp_path: Path) -> None:
    """Ids come from the path; some start with '-', which the format command must still accept."""
    ids = {LocalBroker(Settings(kafka_data_dir=tmp_path / str(index))).cluster_id() for index in range(1000)}
    assert len(ids) == 1000 and any(cluster_id.startswith("-") for cluster_id in ids)
    assert all(len(cluster_id) == 22 for cluster_id in ids)
