"""`timeline up` and `timeline down`: the whole system as child processes of one command.

`up` starts the broker, creates the topics, writes a default digest on a
first run, starts a worker and the scheduler as `python -m streams.cli ...`,
publishes the seed and waits until the view holds it; `down` stops what a
detached `up` left running, once /proc shows a pid is still ours. Each start
rotates a log over LOG_MAX_BYTES to `.1` .. `.LOG_KEEP`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from schemas.subscriptions import DigestSubscription, IntervalSchedule, SinkConfig
from streams.cli.publish import send_all
from streams.cli.root import reach_kafka, settings_of
from streams.kafka.local_broker import BrokerError, LocalBroker
from streams.settings import Settings


@click.command()
@click.option(
    "--seed",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="JSONL events to publish once everything runs (default: seed/events.jsonl if present).",
)
@click.option("--detach", is_flag=True, help="Leave everything running and return.")
@click.pass_context
def up(context: click.Context, seed: Path | None, detach: bool) -> None:
    """Start everything (broker, topics, worker), load the seed; Ctrl-C stops it all cleanly."""
    from streams.clients.publisher import Publisher
    from streams.query.client import QueryError, wait_until_ready
    from streams.registry.reader import read_registry
    from streams.topics import ensure_topics

    settings = settings_of(context)
    local = LocalBroker(settings)
    try:
        local.start()
    except BrokerError as error:
        raise click.ClickException(str(error)) from error
    worker_process: subprocess.Popen[bytes] | None = None
    scheduler_process: subprocess.Popen[bytes] | None = None
    finished = False
    try:
        reach_kafka(settings)
        asyncio.run(ensure_topics(settings))
        _load_registry_files(settings)
        _ensure_default_digest(settings)
        # Each pid file is written at once: `down` must find a process whatever happens next.
        worker_process = _start_worker(settings)
        (settings.home / "worker.pid").write_text(str(worker_process.pid))
        scheduler_process = _start_process(settings, "scheduler", "scheduler.log")
        (settings.home / "scheduler.pid").write_text(str(scheduler_process.pid))
        click.echo(f"worker starting (pid {worker_process.pid}); query API on {settings.api}")
        try:
            process = worker_process
            wait_until_ready(settings.api, timeout=180, alive=lambda: process.poll() is None)
        except QueryError as error:
            tail = _worker_log(settings).read_text(errors="replace").strip()[-2000:]
            raise click.ClickException(f"{error}; last lines of {_worker_log(settings)}:\n{tail}") from error
        seed = seed or (Path("seed/events.jsonl") if Path("seed/events.jsonl").exists() else None)
        if seed is not None:
            publisher = Publisher(settings, asyncio.run(read_registry(settings)))
            prepared = [
                publisher.prepare_outgoing(line, line=number)
                for number, line in enumerate(seed.read_bytes().splitlines(), start=1)
                if line.strip()
            ]
            count = asyncio.run(send_all(publisher, prepared))
            click.echo(f"published {count} seed event(s) from {seed}")
            _wait_for_events(settings, {key.decode() for key, _ in prepared})
        click.echo(_next_steps(settings))
        finished = True
        if detach:
            return
        click.echo("running; press Ctrl-C to stop everything")
        _wait_for_interrupt()
    finally:
        if not detach or not finished:  # a detached start that failed half-way leaves nothing behind
            click.echo("stopping ...", err=True)
            for name, running in (("scheduler", scheduler_process), ("worker", worker_process)):
                if running is not None:
                    _stop_process(running)
                    (settings.home / f"{name}.pid").unlink(missing_ok=True)
            local.stop()
            click.echo("stopped", err=True)


def _load_registry_files(settings: Settings) -> None:
    """The bundled registry and TIMELINE_REGISTRY_FILES onto the registry topic: new ids only,
    so a restart never undoes `timeline actors alias|retire` or a `timeline registry load`."""
    from streams.registry.loading import load_files

    report = asyncio.run(load_files(settings, settings.registry_files, new_only=True))
    if report.published:
        click.echo(f"registered {len(report.published)} new actor(s) and issue(s) from the registry files")
    if report.differing:
        click.echo(
            f"{len(report.differing)} registry file entries differ from {settings.topics.registry}"
            f" ({', '.join(report.differing[:3])}{', …' if len(report.differing) > 3 else ''}):"
            " 'timeline registry load FILE' publishes them"
        )


def _worker_log(settings: Settings) -> Path:
    """One log per query port, so several workers on one machine keep their logs apart."""
    return settings.home / f"worker-{settings.web_port}.log"


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    """A worker process logging to its own file."""
    return _start_process(settings, "worker", _worker_log(settings).name)


LOG_MAX_BYTES = 10 * 1024 * 1024
LOG_KEEP = 3


def _rotate_log(path: Path, max_bytes: int = LOG_MAX_BYTES, keep: int = LOG_KEEP) -> None:
    """Logs are appended to, so one over `max_bytes` moves to `.1` (`.1` to `.2` ...; the oldest goes)."""
    try:
        if path.stat().st_size <= max_bytes:
            return
    except FileNotFoundError:
        return
    path.with_name(f"{path.name}.{keep}").unlink(missing_ok=True)
    for number in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{number}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{number + 1}"))
    path.replace(path.with_name(f"{path.name}.1"))


def _start_process(settings: Settings, command: str, log_name: str) -> subprocess.Popen[bytes]:
    """`timeline COMMAND` as a child in its own session, so a Ctrl-C reaches only `up`, which stops it."""
    log_path = settings.home / log_name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _rotate_log(log_path)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "streams.cli", command],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


DEFAULT_DIGEST = "seed-watch"


def _ensure_default_digest(settings: Settings) -> None:
    """On a first run, a one-minute digest of everything, as Markdown files and on the digest topic."""
    from scheduler.subscriptions_file import save_subscriptions

    if settings.subscriptions_path.exists():
        return
    folder = (settings.home / "digests").absolute()
    save_subscriptions(
        settings.subscriptions_path,
        [
            DigestSubscription(
                id=DEFAULT_DIGEST,
                schedule=IntervalSchedule(seconds=60),
                sinks=(SinkConfig(kind="file", target=str(folder)), SinkConfig(kind="topic")),
                start=datetime.now(UTC),
            )
        ],
    )
    click.echo(f"created digest subscription {DEFAULT_DIGEST}: every minute, Markdown files in {folder}")


def _stop_process(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM for a clean shutdown; SIGKILL if it takes longer than the timeout."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_events(settings: Settings, event_ids: set[str | None], timeout: float = 60) -> None:
    """Wait until the workers hold every published event, so the first query answers."""
    import time

    from streams.query.client import QueryError, get_json

    token = settings.api_token.get_secret_value() if settings.api_token is not None else None
    deadline = time.monotonic() + timeout
    pending = {event_id for event_id in event_ids if event_id}
    while pending and time.monotonic() < deadline:
        for event_id in list(pending):
            try:
                get_json(settings.api, f"/events/{event_id}", token=token)
                pending.discard(event_id)
            except QueryError:
                break
        time.sleep(0.2)
    if pending:
        click.echo(f"warning: {len(pending)} seed event(s) not yet in the view", err=True)


@click.command()
@click.pass_context
def down(context: click.Context) -> None:
    """Stop what `timeline up --detach` (or an interrupted `make run`) left running."""
    settings = settings_of(context)
    for name in ("scheduler", "worker"):
        pid_file = settings.home / f"{name}.pid"
        try:
            text = pid_file.read_text().strip()
        except FileNotFoundError:
            continue
        click.echo(_stop_named(name, text))
        pid_file.unlink(missing_ok=True)
    click.echo("broker stopped" if LocalBroker(settings).stop() else "no broker was running")


def _stop_named(name: str, pid_text: str) -> str:
    """SIGTERM the pid a pid file names only if it still runs our `name`: pids are reused."""
    try:
        pid = int(pid_text)
    except ValueError:
        pid = 0
    if pid <= 0:
        return f"the {name} pid file holds no pid ({pid_text[:40]!r}); removed it"
    argv = _command_line(pid)
    if argv is None:
        return f"the {name} (pid {pid}) was not running; removed its stale pid file"
    if not _is_ours(argv, name):
        return (
            f"pid {pid} is not a timeline {name} (it runs {' '.join(argv)[:100]!r});"
            " left it alone and removed the stale pid file"
        )
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return f"the {name} (pid {pid}) was not running; removed its stale pid file"
    if _exited(pid, STOP_SECONDS):
        return f"stopped the {name} (pid {pid})"
    # Its shutdown hangs (a commit or a fetch waiting on Kafka): it would outlive the broker.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return f"the {name} (pid {pid}) did not stop within {STOP_SECONDS:.0f} s of SIGTERM: killed it"


STOP_SECONDS = 30.0
"""How long `down` waits for a process to finish after SIGTERM, before the broker goes."""


def _exited(pid: int, timeout: float) -> bool:
    """Whether the process is gone (or a zombie) within `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _command_line(pid) is None:
            return True
        time.sleep(0.1)
    return False


def _command_line(pid: int) -> list[str] | None:
    """The argv of a live process; None if there is none (a zombie's cmdline is empty)."""
    if not Path("/proc/self").exists():  # not Linux: ask ps (arguments split on spaces)
        found = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True)
        return found.stdout.split() or None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")[:-1] or None


def _is_ours(argv: list[str], command: str) -> bool:
    """Whether argv is a Python running `streams.cli COMMAND`, as `_start_process` starts one."""
    if not argv or "python" not in Path(argv[0]).name:
        return False
    return any(argv[index : index + 2] == ["streams.cli", command] for index in range(1, len(argv) - 1))


def _wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM, then let `up` stop everything."""
    received = []
    signal.signal(signal.SIGTERM, lambda *_: received.append(True))
    try:
        while not received:
            signal.pause() if hasattr(signal, "pause") else None
    except KeyboardInterrupt:
        pass


def _next_steps(settings: Settings) -> str:
    """What to try once everything runs, with this run's addresses."""
    topic = f"{settings.topic_prefix}events"
    return (
        f"\nbroker: {settings.bootstrap}\n"
        "try:\n"
        f"  kcat -b {settings.bootstrap} -C -t {topic} -e -o beginning | head -3\n"
        "  .venv/bin/timeline stance keir-starmer\n"
        f"  curl -s {settings.api}/issues/us-backstop/stances\n"
        "  .venv/bin/timeline changes\n"
        f"  open {settings.api}/docs for the API\n"
        "  .venv/bin/timeline subscribe --follow\n"
        f"  ls {(settings.home / 'digests').absolute()}   # a Markdown digest each minute\n"
    )
