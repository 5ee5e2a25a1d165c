"""`timeline down` signals only its own processes, and each start rotates a grown log (real processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.cli.supervisor import _command_line, _is_ours, _rotate_log, _start_process
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; whatever is left is killed and reaped."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait()


def fake(command: str) -> list[str]:
    """A Python whose argv holds `streams.cli COMMAND`, as `_start_process` starts one, with no broker."""
    return [sys.executable, "-c", "import time; time.sleep(30)", "streams.cli", command]


def started(children: list[subprocess.Popen[bytes]], argv: list[str]) -> subprocess.Popen[bytes]:
    """Start `argv` and wait until /proc shows it: Popen can return while the exec is under way."""
    child = subprocess.Popen(argv)
    children.append(child)
    deadline = time.monotonic() + 30
    while _command_line(child.pid) != argv:
        assert time.monotonic() < deadline and child.poll() is None, f"{argv} never showed in /proc"
        time.sleep(0.01)
    return child


def down(home: Path) -> str:
    """`timeline down` as a user runs it, in its own process."""
    env = {**os.environ, "TIMELINE_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "down"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_check_reads_the_real_command_line(children: list[subprocess.Popen[bytes]]) -> None:
    sleeper = started(children, ["sleep", "30"])
    worker = started(children, fake("worker"))
    assert _command_line(sleeper.pid) == ["sleep", "30"]
    worker_argv = _command_line(worker.pid)
    assert worker_argv is not None
    assert _is_ours(worker_argv, "worker") and not _is_ours(worker_argv, "scheduler")
    assert not _is_ours(["sleep", "30"], "worker")
    assert not _is_ours(["vim", "streams.cli", "worker"], "worker")  # not a Python
    assert _is_ours([sys.executable, "-m", "streams.cli", "scheduler"], "scheduler")  # what up starts
    sleeper.kill()
    sleeper.wait()
    assert _command_line(sleeper.pid) is None


def test_down_leaves_an_unrelated_process_alone_and_removes_the_stale_pid_file(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    sleeper = started(children, ["sleep", "30"])
    scheduler_elsewhere = started(children, fake("scheduler"))  # ours, but not a worker
    (tmp_path / "worker.pid").write_text(str(scheduler_elsewhere.pid))
    (tmp_path / "scheduler.pid").write_text(str(sleeper.pid))

    said = down(tmp_path)

    assert sleeper.poll() is None and scheduler_elsewhere.poll() is None
    assert f"pid {sleeper.pid} is not a timeline scheduler" in said
    assert f"pid {scheduler_elsewhere.pid} is not a timeline worker" in said
    assert not (tmp_path / "worker.pid").exists() and not (tmp_path / "scheduler.pid").exists()


def test_down_stops_its_own_processes_and_says_so_for_gone_ones(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    worker = started(children, fake("worker"))
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / "worker.pid").write_text(str(worker.pid))
    (tmp_path / "scheduler.pid").write_text(str(gone.pid))

    said = down(tmp_path)

    assert worker.wait(timeout=30) == -signal.SIGTERM
    assert f"stopped the worker (pid {worker.pid})" in said
    assert f"the scheduler (pid {gone.pid}) was not running" in said
    assert not (tmp_path / "worker.pid").exists() and not (tmp_path / "scheduler.pid").exists()


def test_a_pid_file_without_a_pid_never_signals(tmp_path: Path) -> None:
    (tmp_path / "worker.pid").write_text("-1")  # os.kill(-1) would signal every process we may
    (tmp_path / "scheduler.pid").write_text("garbage")
    said = down(tmp_path)
    assert "the worker pid file holds no pid ('-1')" in said
    assert "the scheduler pid file holds no pid ('garbage')" in said
    assert not (tmp_path / "worker.pid").exists()


def test_a_log_over_the_size_rotates_keeping_three_old_ones(tmp_path: Path) -> None:
    log = tmp_path / "scheduler.log"
    for number in (1, 2, 3):
        (tmp_path / f"scheduler.log.{number}").write_text(f"old {number}")
    log.write_bytes(b"x" * 100)
    _rotate_log(log, max_bytes=100)
    assert log.read_bytes() == b"x" * 100  # at the size, not over it: left alone
    log.write_bytes(b"y" * 101)
    _rotate_log(log, max_bytes=100)
    assert not log.exists()
    assert [(tmp_path / f"scheduler.log.{n}").read_bytes() for n in (1, 2, 3)] == [
        b"y" * 101,
        b"old 1",
        b"old 2",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"scheduler.log.{n}" for n in (1, 2, 3)]
    _rotate_log(tmp_path / "never-written.log")  # nothing to rotate


def test_each_start_rotates_a_log_over_ten_mebibytes(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    log = tmp_path / "worker-1.log"
    log.write_bytes(b"z" * (10 * 1024 * 1024 + 1))
    # `streams.cli --help` stands in for a worker: the same start, log and rotation, no broker.
    child = _start_process(settings, "--help", log.name)
    assert child.wait(timeout=120) == 0
    assert (tmp_path / "worker-1.log.1").stat().st_size == 10 * 1024 * 1024 + 1
    assert b"Usage" in log.read_bytes() and log.stat().st_size < 1024 * 1024
    child = _start_process(settings, "--help", log.name)  # small now: appended to, not rotated
    assert child.wait(timeout=120) == 0
    assert log.read_bytes().count(b"Usage") == 2 and not (tmp_path / "worker-1.log.2").exists()


def test_a_process_that_ignores_sigterm_is_killed_before_the_broker_goes(
    children: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shutdown hung on Kafka would otherwise outlive the broker `down` stops next."""
    from streams.cli import supervisor

    stubborn = [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
        "streams.cli",
        "scheduler",
    ]
    child = started(children, stubborn)
    time.sleep(0.3)  # let it install its handler: a TERM before that would simply end it
    monkeypatch.setattr(supervisor, "STOP_SECONDS", 1.0)
    said = supervisor._stop_named("scheduler", str(child.pid))
    assert child.wait(timeout=10) == -signal.SIGKILL
    assert said == f"the scheduler (pid {child.pid}) did not stop within 1 s of SIGTERM: killed it"
