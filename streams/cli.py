"""`timeline`: the command line for scripts and people.

Exit codes of `timeline publish`: 0 everything sent (or valid, with
--dry-run); 1 invalid input, nothing sent; 3 some lines skipped
(--skip-invalid); 4 the broker could not be reached or refused the events;
2 a usage error.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import IO

import click

from streams.local_broker import BrokerError, LocalBroker
from streams.settings import Settings

EXIT_INVALID = 1
EXIT_PARTIAL = 3
EXIT_KAFKA = 4


def _settings(context: click.Context) -> Settings:
    settings: Settings = context.obj
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(context: click.Context) -> None:
    """diplomatic-timeline: diplomatic events on Kafka, folded into stances.

    Settings come from TIMELINE_* environment variables (see README).
    """
    context.obj = Settings()


# -- broker ---------------------------------------------------------------


@main.group()
def broker() -> None:
    """The local Kafka broker (KRaft, one node, on loopback)."""


@broker.command("fetch")
@click.pass_context
def broker_fetch(context: click.Context) -> None:
    """Download the broker jars from Maven Central (once)."""
    _run_broker(lambda b: b.fetch(), context)


@broker.command("start")
@click.pass_context
def broker_start(context: click.Context) -> None:
    """Start the broker, or reuse the running one."""
    _run_broker(lambda b: b.start(), context)


@broker.command("stop")
@click.pass_context
def broker_stop(context: click.Context) -> None:
    """Stop the broker cleanly (SIGTERM)."""

    def stop(local: LocalBroker) -> None:
        click.echo("broker stopped" if local.stop() else "no broker was running")

    _run_broker(stop, context)


@broker.command("status")
@click.pass_context
def broker_status(context: click.Context) -> None:
    """Say whether the broker runs; exit 1 if it does not."""
    status = LocalBroker(_settings(context)).status()
    if status.running:
        click.echo(f"running (pid {status.pid}) on {status.bootstrap}; log: {status.log_file}")
    else:
        click.echo(f"not running (would listen on {status.bootstrap})")
        sys.exit(1)


def _run_broker(action: object, context: click.Context) -> None:
    try:
        action(LocalBroker(_settings(context)))  # type: ignore[operator]
    except BrokerError as error:
        raise click.ClickException(str(error)) from error


# -- topics ---------------------------------------------------------------


@main.group()
def topics() -> None:
    """The project's Kafka topics."""


@topics.command("create")
@click.pass_context
def topics_create(context: click.Context) -> None:
    """Create the topics if missing (idempotent); fail on a partition mismatch."""
    from streams.topics import TopicMismatchError, ensure_topics

    settings = _settings(context)
    try:
        report = asyncio.run(ensure_topics(settings))
    except TopicMismatchError as error:
        raise click.ClickException(str(error)) from error
    for name in report.created:
        click.echo(f"created {name} ({settings.partitions} partitions)")
    for name in report.existing:
        click.echo(f"exists  {name}")


@topics.command("list")
@click.pass_context
def topics_list(context: click.Context) -> None:
    """List the broker's topics with their partition counts."""
    from streams.topics import list_topics

    for name, count in sorted(asyncio.run(list_topics(_settings(context))).items()):
        click.echo(f"{name}\t{count}")


# -- publish --------------------------------------------------------------


@main.command()
@click.argument("source", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Only validate; send nothing.")
@click.option("--skip-invalid", is_flag=True, help="Send the valid lines and report the rest.")
@click.pass_context
def publish(context: click.Context, source: IO[bytes], dry_run: bool, skip_invalid: bool) -> None:
    """Publish events from a JSONL file (one event per line), or - for stdin.

    Every line is validated first. By default a file with any invalid line
    sends nothing; each problem is reported with its line and field.

    \b
    Examples:
      timeline publish seed/events.jsonl
      timeline publish --dry-run my-events.jsonl
      cat events.jsonl | timeline publish --skip-invalid -
    """
    from streams.publisher import InvalidEventError, Publisher

    settings = _settings(context)
    publisher = Publisher(settings)
    prepared = []
    problems: list[InvalidEventError] = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            prepared.append(publisher.prepare(line, line=number))
        except InvalidEventError as error:
            problems.append(error)
    for problem in problems:
        click.echo(f"invalid: {problem} [{problem.reason}]", err=True)
    name = getattr(source, "name", "-")
    if problems and not skip_invalid:
        click.echo(
            f"{len(problems)} invalid line(s) in {name}: nothing sent"
            " (fix them, or use --skip-invalid to send the valid ones)",
            err=True,
        )
        sys.exit(EXIT_INVALID)
    if dry_run:
        click.echo(f"{len(prepared)} valid event(s), {len(problems)} invalid (dry run: nothing sent)")
        sys.exit(EXIT_PARTIAL if problems else 0)
    try:
        sent = asyncio.run(_send(publisher, prepared))
    except Exception as error:  # noqa: BLE001 - any Kafka failure is reported the same way
        click.echo(f"error: could not publish to {settings.bootstrap}: {error!r}", err=True)
        sys.exit(EXIT_KAFKA)
    click.echo(f"published {sent} event(s) to {publisher.topic}")
    if problems:
        click.echo(f"skipped {len(problems)} invalid line(s)", err=True)
        sys.exit(EXIT_PARTIAL)


async def _send(publisher: object, prepared: list) -> int:  # type: ignore[type-arg]
    from streams.publisher import Publisher

    assert isinstance(publisher, Publisher)
    async with publisher:
        with click.progressbar(
            length=len(prepared), label="publishing", file=sys.stderr
        ) as progress:
            results = await publisher.send_prepared(prepared, on_sent=progress.update)
    return len(results)


# -- schema ---------------------------------------------------------------


@main.group()
def schema() -> None:
    """The JSON Schema documents of the public models."""


@schema.command("export")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("schemas/jsonschema"),
    show_default=True,
)
@click.option("--check", is_flag=True, help="Exit 1 if the files in --out are stale; write nothing.")
def schema_export(out: Path, check: bool) -> None:
    """Write (or check) one JSON Schema file per public model."""
    from schemas.json_schema import json_schemas, render

    stale = []
    for file_name, document in json_schemas().items():
        path = out / file_name
        text = render(document)
        if check:
            if not path.exists() or path.read_text("utf-8") != text:
                stale.append(str(path))
            continue
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        click.echo(f"wrote {path}")
    if stale:
        click.echo("stale JSON Schema files (run 'timeline schema export'): " + ", ".join(stale), err=True)
        sys.exit(1)


# -- up -------------------------------------------------------------------


@main.command()
@click.option(
    "--seed",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="JSONL events to publish once everything runs (default: seed/events.jsonl if present).",
)
@click.option("--detach", is_flag=True, help="Leave everything running and return.")
@click.pass_context
def up(context: click.Context, seed: Path | None, detach: bool) -> None:
    """Start everything (broker, topics), load the seed, wait for Ctrl-C, then stop cleanly."""
    from streams.publisher import Publisher
    from streams.topics import ensure_topics

    settings = _settings(context)
    local = LocalBroker(settings)
    try:
        local.start()
    except BrokerError as error:
        raise click.ClickException(str(error)) from error
    try:
        asyncio.run(ensure_topics(settings))
        seed = seed or (Path("seed/events.jsonl") if Path("seed/events.jsonl").exists() else None)
        if seed is not None:
            publisher = Publisher(settings)
            prepared = [
                publisher.prepare(line, line=number)
                for number, line in enumerate(seed.read_bytes().splitlines(), start=1)
                if line.strip()
            ]
            count = asyncio.run(_send(publisher, prepared))
            click.echo(f"published {count} seed event(s) from {seed}")
        click.echo(_next_steps(settings))
        if detach:
            return
        click.echo("running; press Ctrl-C to stop everything")
        _wait_for_interrupt()
    finally:
        if not detach:
            click.echo("stopping ...")
            local.stop()
            click.echo("stopped")


def _wait_for_interrupt() -> None:
    received = []
    signal.signal(signal.SIGTERM, lambda *_: received.append(True))
    try:
        while not received:
            signal.pause() if hasattr(signal, "pause") else None
    except KeyboardInterrupt:
        pass


def _next_steps(settings: Settings) -> str:
    topic = f"{settings.topic_prefix}events"
    return (
        f"\nbroker: {settings.bootstrap}\n"
        "try:\n"
        f"  kcat -b {settings.bootstrap} -C -t {topic} -e -o beginning | head -3\n"
        "  .venv/bin/timeline topics list\n"
        "  .venv/bin/timeline publish --dry-run seed/events.jsonl\n"
    )


if __name__ == "__main__":
    main()
