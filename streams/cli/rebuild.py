"""`timeline rebuild`: replay the event log into fresh state and hash it.

Equal to the live hash is the check that replay is exact (docs/semantics.md, "Replay is exact").
"""

from __future__ import annotations

import asyncio
import json
import sys

import click

from streams.cli.queries import query_api
from streams.cli.root import reach_kafka, settings_of


@click.command()
@click.option("--compare", is_flag=True, help="Compare with the live hash; exit 1 if different.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--processes",
    type=click.IntRange(1, 2),
    default=None,
    help="2: the stance step in a second process (the default with two cores or more); 1: one process.",
)
@click.pass_context
def rebuild(context: click.Context, compare: bool, as_json: bool, processes: int | None) -> None:
    """Replay the whole event log from offset 0 into fresh state; print its SHA-256."""
    from dataclasses import asdict

    from streams.registry_files import load_registry
    from streams.replay.rebuild import rebuild as run_rebuild

    settings = settings_of(context)
    registry = load_registry(settings.registry_files)
    reach_kafka(settings)
    if sys.stderr.isatty():
        with click.progressbar(length=0, label="replaying", file=sys.stderr) as progress:

            def on_progress(done: int, total: int) -> None:
                progress.length = total
                progress.update(done - progress.pos)

            result = asyncio.run(run_rebuild(settings, registry, on_progress, processes))
    else:
        result = asyncio.run(run_rebuild(settings, registry, processes=processes))
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
        if live is not None:
            click.echo(f"live   {live}  ({'equal' if live == result.sha256 else 'DIFFERENT'})")
    if live is not None and live != result.sha256:
        sys.exit(1)
