"""The soak run's broker and its summary table.

`make soak` runs these tests (they are left out of `make test`: see
tests/conftest.py). One broker serves every scenario but the broker-restart
one, which starts its own so that it can kill it.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.kafka.local_broker import LocalBroker
from tests.integration.conftest import broker_settings
from tests.soak.harness import Summary

RESULTS = Path(__file__).resolve().parent / "results"


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    local = LocalBroker(broker_settings(tmp_path_factory.mktemp("soak-broker"), broker_heap="1g"))
    local.start()
    yield local
    local.stop()


@pytest.fixture
def home(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A scenario's own folder: its registry, worker state, logs."""
    return tmp_path_factory.mktemp(request.node.name[:30])


def machine() -> str:
    cores = len(__import__("os").sched_getaffinity(0))
    memory = ""
    try:
        kib = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    python = platform.python_version()
    return f"{platform.machine()}, {cores} cores{memory}, Python {python}, Kafka 4.1.2 (KRaft, 1 node)"


@pytest.fixture(scope="session")
def summary(request: pytest.FixtureRequest) -> Iterator[Summary]:
    table = Summary()
    yield table
    path = table.write(RESULTS, machine())
    request.config.stash[SUMMARY_KEY] = path


SUMMARY_KEY = pytest.StashKey[Path]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    path = config.stash.get(SUMMARY_KEY, None)
    if path is not None and path.exists():
        terminalreporter.write_sep("=", "soak summary")
        terminalreporter.write_line(path.read_text())
