"""`timeline dlq replay`: dead letters of the event topic published again, once they can pass.

Exit codes: 0 done (also when some are still invalid: they stay, to be tried again);
4 Kafka cannot be reached.
"""

from __future__ import annotations

import asyncio

import click

from streams.cli.root import reach_kafka, settings_of


@click.group()
def dlq() -> None:
    """Dead letters: records the stream refused; replay them."""


@dlq.command("replay")
@click.option(
    "--reason",
    "reasons",
    multiple=True,
    default=("unknown_reference",),
    show_default=True,
    help="Replay dead letters with this reason (repeatable).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be published; publish nothing.")
@click.pass_context
def dlq_replay(context: click.Context, reasons: tuple[str, ...], dry_run: bool) -> None:
    """Publish dead-lettered events again, each once, once they pass validation.

    Each goes through the publisher again (validated against the registry now, a
    new recorded_at, its event_id kept); one still invalid stays for a later run.
    Replayed dead letters are remembered in TIMELINE_HOME/dlq-replayed.json.

    \b
    Example, after registering the actor some events named:
      timeline actors add johann-wadephul --name "Johann Wadephul" --kind person --country DEU
      timeline dlq replay
    """
    from streams.clients.dead_letter_replay import replay_dead_letters

    settings = settings_of(context)
    reach_kafka(settings)
    report = asyncio.run(replay_dead_letters(settings, frozenset(reasons), dry_run))
    for line in report.still_invalid:
        click.echo(f"still invalid: {line}", err=True)
    verb = "would publish" if dry_run else "published"
    click.echo(
        f"{verb} {len(report.replayed)} event(s) again; {len(report.still_invalid)} still invalid,"
        f" {report.replayed_before} replayed before, {report.other_reasons} with other reasons"
        + (
            f", {report.not_replayable} not replayable (another topic's, or cut short)"
            if report.not_replayable
            else ""
        )
    )
