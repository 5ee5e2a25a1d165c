"""`timeline publish`: events from a JSONL file onto the event topic.

Exit codes: 0 everything sent (or valid, with --dry-run); 1 invalid input,
nothing sent; 3 some lines skipped (--skip-invalid); 4 the broker could not
be reached or refused the events; 2 a usage error (click's own).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

import click

from streams.cli.root import EXIT_KAFKA, reach_kafka, settings_of

if TYPE_CHECKING:
    from streams.clients.publisher import Outgoing, Publisher

EXIT_INVALID = 1
EXIT_PARTIAL = 3


@click.command()
@click.argument("source", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Only validate; send nothing.")
@click.option("--skip-invalid", is_flag=True, help="Send the valid lines and report the rest.")
@click.pass_context
def publish(context: click.Context, source: IO[bytes], dry_run: bool, skip_invalid: bool) -> None:
    """Publish events from a JSONL file (one event per line), or - for stdin.

    Every line is validated first, against the registry topic (so this needs
    Kafka, with --dry-run too; timeline-check validates offline, from files).
    By default a file with any invalid line sends nothing; each problem is
    reported with its line and field.

    \b
    Examples:
      timeline publish seed/events.jsonl
      timeline publish --dry-run my-events.jsonl
      cat events.jsonl | timeline publish --skip-invalid -
    """
    from streams.clients.publisher import InvalidEventError, Publisher
    from streams.registry.reader import read_registry

    settings = settings_of(context)
    # The registry is the registry topic's; timeline-check validates offline, from the registry files.
    reach_kafka(settings, hint="to validate without a broker, from the registry files: timeline-check FILE")
    publisher = Publisher(settings, asyncio.run(read_registry(settings)))
    prepared = []
    problems: list[InvalidEventError] = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            prepared.append(publisher.prepare_outgoing(line, line=number))
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
        sent = asyncio.run(send_all(publisher, prepared))
    except Exception as error:  # noqa: BLE001 - any Kafka failure is reported the same way
        click.echo(f"error: could not publish to {settings.bootstrap}: {error!r}", err=True)
        sys.exit(EXIT_KAFKA)
    click.echo(f"published {sent} event(s) to {publisher.topic}")
    if problems:
        click.echo(f"skipped {len(problems)} invalid line(s)", err=True)
        sys.exit(EXIT_PARTIAL)


async def send_all(publisher: Publisher, prepared: Sequence[Outgoing]) -> int:
    """Send the prepared events (with a progress bar for a big file on a terminal); return how many."""
    async with publisher:
        if not sys.stderr.isatty() or len(prepared) < 200:
            results = await publisher.send_prepared(prepared)
        else:
            with click.progressbar(length=len(prepared), label="publishing", file=sys.stderr) as progress:
                results = await publisher.send_prepared(prepared, on_sent=progress.update)
    return len(results)
