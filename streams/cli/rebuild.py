"""`timeline rebuild`: replay the event log into fresh state and hash it; `--write` backfills.

Equal to the live hash is the check that replay is exact (docs/semantics.md, "Replay is exact").
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click

from streams.cli.queries import query_api
from streams.cli.root import reach_kafka, settings_of

T = TypeVar("T")


def with_progress(run: Callable[[Callable[[int, int], None] | None], Coroutine[Any, Any, T]]) -> T:
    """Run with a progress bar on a terminal, quietly otherwise."""
    if not sys.stderr.isatty():
        return asyncio.run(run(None))
    with click.progressbar(length=0, label="replaying", file=sys.stderr) as progress:

        def on_progress(done: int, total: int) -> None:
            progress.length = total
            progress.update(done - progress.pos)

        return asyncio.run(run(on_progress))


@click.command()
@click.option("--compare", is_flag=True, help="Compare with the live hash; exit 1 if different.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--processes",
    type=click.IntRange(1, 2),
    default=None,
    help="2: the stance step in a second process (the default with two cores or more); 1: one process.",
)
@click.option(
    "--write",
    is_flag=True,
    help="Backfill: write the state to the tables' changelogs and commit the workers' group at the"
    " log's end, so workers started afterwards recover it instead of folding the log (a fresh"
    " deployment: no workers running, no state yet).",
)
@click.option(
    "--with-changes",
    is_flag=True,
    help="With --write: also send the history's stance changes to the change topic (off by default,"
    " so subscribers and digests are not flooded).",
)
@click.pass_context
def rebuild(
    context: click.Context,
    compare: bool,
    as_json: bool,
    processes: int | None,
    write: bool,
    with_changes: bool,
) -> None:
    """Replay the whole event log from offset 0 into fresh state; print its SHA-256.

    \b
    Examples:
      timeline rebuild --compare          # equal to the live state?
      timeline rebuild --write            # backfill a fresh deployment, then start workers
    """
    from dataclasses import asdict

    from streams.replay.backfill import BackfillRefused, backfill
    from streams.replay.rebuild import rebuild as run_rebuild

    if with_changes and not write:
        raise click.UsageError("--with-changes goes with --write")
    settings = settings_of(context)
    registry = None  # the registry topic's, read by the rebuild
    reach_kafka(settings)
    summary: dict[str, Any]
    if write:
        try:
            done = with_progress(lambda report: backfill(settings, registry, report, processes, with_changes))
        except BackfillRefused as error:
            raise click.ClickException(f"backfill refused: {error}") from error
        result = done.rebuild
        summary = {**asdict(result), "written": done.written, "committed": done.committed}
        summary["changes_sent"] = done.changes_sent
    else:
        result = with_progress(lambda report: run_rebuild(settings, registry, report, processes))
        summary = asdict(result)
    live = None
    if compare:
        live_state = query_api(settings, "/state/hash")
        assert isinstance(live_state, dict)
        live = live_state["sha256"]
        summary["live_sha256"] = live
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        rate = result.events / result.seconds if result.seconds else 0.0
        click.echo(
            f"replayed {result.events} events in {result.seconds:.2f}s ({rate:,.0f}/s):"
            f" {result.stances} stances, {result.claims} claims, {result.changes} changes,"
            f" {result.dead_letters} dead letters"
        )
        click.echo(f"sha256 {result.sha256}")
        if write:
            written = ", ".join(f"{count} to {topic}" for topic, count in summary["written"].items())
            click.echo(f"wrote {written}; committed group {settings.app_id} at the log's end")
            click.echo(f"sent {summary['changes_sent']} stance change(s) to {settings.topics.stance_changes}")
        if live is not None:
            click.echo(f"live   {live}  ({'equal' if live == result.sha256 else 'DIFFERENT'})")
    if live is not None and live != result.sha256:
        sys.exit(1)
