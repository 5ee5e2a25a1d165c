"""Every client through a real SASL_SSL listener (SCRAM-SHA-512 over TLS from the project's CA).

The secured local broker is the project's own (`TIMELINE_BROKER_SECURE`), started
for this module; kcat, a client no one here wrote, reads the change topic with
the same credentials; a wrong password or an unknown CA fails fast in one line.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.digest import build_digest
from scheduler.sinks import make_sink
from schemas.stances import StanceChange
from schemas.subscriptions import ChangeFilter, DigestSubscription, IntervalSchedule, SinkConfig
from streams.clients.subscriber import Subscriber
from streams.kafka.connection import local_security
from streams.kafka.local_broker import LocalBroker
from streams.kafka.local_security import LocalSecurity
from streams.kafka.preflight import KafkaUnreachableError, check_connection
from streams.settings import Settings
from tests.integration.conftest import broker_settings
from tests.integration.helpers import read_all
from tests.integration.workers import environment, own_settings, start_seeded_worker

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    local = LocalBroker(broker_settings(tmp_path_factory.mktemp("secure-broker"), broker_secure=True))
    local.start()
    yield local
    local.stop()


@pytest.fixture
def secure(secure_broker: LocalBroker, tmp_path: Path) -> Settings:
    return own_settings(secure_broker.settings, tmp_path, f"s{tmp_path.name[-6:]}.")


def test_the_broker_takes_no_plaintext_client(secure: Settings) -> None:
    with pytest.raises(KafkaUnreachableError, match="TIMELINE_SECURITY_PROTOCOL"):
        asyncio.run(check_connection(secure.model_copy(update={"security_protocol": "PLAINTEXT"})))


async def _changes(settings: Settings, count: int) -> list[StanceChange]:
    found: list[StanceChange] = []
    async with Subscriber(settings, None, ChangeFilter(), "earliest") as subscriber:
        deadline = time.monotonic() + 60
        while len(found) < count and time.monotonic() < deadline:
            change = await subscriber.next_change(timeout=1.0)
            if change is not None:
                found.append(change)
    return found


READ_ALL = ("-o", "beginning", "-e", "-q", "-f", "%k\t%s\n")


def kcat_secure(settings: Settings, topic: str, tmp_path: Path) -> list[tuple[str, object]]:
    """kcat with a config file (so the password is not on its command line).

    PLAIN over TLS, with the same user and password: Debian's kcat links librdkafka
    2.0, whose SCRAM proof Kafka 4 refuses (librdkafka#4895, fixed in 2.6.1).
    """
    kcat = shutil.which("kcat")
    assert kcat is not None, "kcat is missing: 'make test' installs it (apt-get install kcat)"
    files = local_security(settings)
    config = tmp_path / "kcat.conf"
    config.write_text(
        "security.protocol=SASL_SSL\nsasl.mechanisms=PLAIN\nsasl.username=timeline\n"
        f"sasl.password={files.password('timeline')}\nssl.ca.location={files.ca_file}\n"
    )
    config.chmod(0o600)
    result = subprocess.run(
        [
            kcat,
            "-F",
            str(config),
            "-b",
            settings.bootstrap,
            "-C",
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%k\t%s\n",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [
        (key, json.loads(value))
        for key, value in (line.split("\t", 1) for line in result.stdout.splitlines())
    ]


def test_publish_fold_query_subscribe_and_digest_over_sasl_ssl(
    secure: Settings, repo: Path, tmp_path: Path
) -> None:
    worker = start_seeded_worker(secure, repo)
    try:
        stances = worker.items("/actors/keir-starmer/stances")
        assert {stance["issue_id"] for stance in stances} >= {"us-backstop"}
        state = worker.get("/state/hash")
        changes = asyncio.run(_changes(secure, state["stances"]))
        assert len(changes) >= state["stances"] and {c.actor_id for c in changes} >= {"keir-starmer"}

        on_kcat = kcat_secure(secure, secure.topics.stance_changes, tmp_path)
        assert sorted(value["change_id"] for _, value in on_kcat) == sorted(c.change_id for c in changes)  # type: ignore[index]

        now = datetime.now(UTC)
        subscription = DigestSubscription(
            id="secured", schedule=IntervalSchedule(seconds=60), sinks=(SinkConfig(kind="topic"),), start=now
        )
        digest = build_digest(subscription, now - timedelta(days=1), now, changes, generated_at=now)
        asyncio.run(make_sink(subscription.sinks[0], secure).deliver(digest))
        [record] = asyncio.run(read_all(secure, secure.topics.digests, 1))
        assert record.key == b"secured" and json.loads(record.value or b"{}")["digest_id"] == digest.digest_id
    finally:
        worker.stop()


def _timeline(
    settings: Settings, *args: str, **variables: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**environment(settings), **variables},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, time.monotonic() - started


def test_a_wrong_password_fails_fast_in_one_line(secure: Settings, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password\n")
    for command in (["topics", "list"], ["worker"], ["subscribe"]):
        result, seconds = _timeline(secure, *command, TIMELINE_SASL_PASSWORD_FILE=str(wrong))
        lines = result.stderr.strip().splitlines()
        assert result.returncode != 0 and seconds < 15, (command, seconds, result.stderr)
        assert len(lines) == 1 and "SASL login" in lines[0] and "refused" in lines[0], (command, lines)


def test_an_unknown_ca_fails_fast_in_one_line(secure: Settings, repo: Path, tmp_path: Path) -> None:
    other = LocalSecurity(tmp_path / "other-ca")
    other.ensure("127.0.0.1")
    for command in (["topics", "list"], ["worker"], ["publish", str(repo / "seed" / "events.jsonl")]):
        result, seconds = _timeline(secure, *command, TIMELINE_SSL_CAFILE=str(other.ca_file))
        lines = result.stderr.strip().splitlines()
        assert result.returncode != 0 and seconds < 15, (command, seconds, result.stderr)
        assert len(lines) == 1 and "not trusted" in lines[0] and str(other.ca_file) in lines[0], (
            command,
            lines,
        )
