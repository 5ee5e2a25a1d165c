"""`timeline subscribe`: stance changes from the change topic, and the filter options `digest add` shares."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import click

from schemas.stances import ChangeKind, Stance, StanceChange
from schemas.subscriptions import ChangeFilter
from streams.cli.root import reach_kafka, settings_of
from streams.clients.subscriber import StartPoint


def describe_change(change: StanceChange) -> str:
    """One readable line per stance change."""

    def side(stance: Stance | None) -> str:
        return "none" if stance is None else f"{stance.position.value} {stance.score:+.2f}"

    return (
        f"{change.detected_at:%Y-%m-%d %H:%M:%S}  {change.kind.value:<9} {change.actor_id} on"
        f" {change.issue_id}: {side(change.previous)} -> {side(change.current)}"
        f"  (event {change.event_id}, {change.occurred_at.label()})"
    )


def _start_point(text: str | None, follow: bool) -> StartPoint:
    """--from as the subscriber's start: everything so far by default, only new changes with --follow."""
    if text is None:
        return "latest" if follow else "earliest"
    if text in ("latest", "earliest"):
        return text  # type: ignore[return-value]
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise click.BadParameter(f"{text!r}: use latest, earliest or an ISO 8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def filter_options(command: Callable[..., None]) -> Callable[..., None]:
    """The change-filter options shared by `subscribe` and `digest add`."""
    options = [
        click.option("--actor", "actors", multiple=True, help="Only these actors (repeatable)."),
        click.option("--issue", "issues", multiple=True, help="Only these issues (repeatable)."),
        click.option(
            "--kind",
            "kinds",
            multiple=True,
            type=click.Choice([kind.value for kind in ChangeKind]),
            help="Only these kinds of change (repeatable).",
        ),
        click.option("--min-move", type=float, default=0.0, show_default=True, help="Minimum score move."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command()
@filter_options
@click.option(
    "--from",
    "start",
    default=None,
    help="latest, earliest or an ISO time (default: earliest; latest with --follow).",
)
@click.option("--group", default=None, help="A durable consumer group: resume where it left off.")
@click.option("--follow", "-f", is_flag=True, help="Keep waiting for new changes (Ctrl-C stops).")
@click.option("--json", "as_json", is_flag=True, help="One StanceChange JSON document per line.")
@click.pass_context
def subscribe(
    context: click.Context,
    actors: tuple[str, ...],
    issues: tuple[str, ...],
    kinds: tuple[str, ...],
    min_move: float,
    start: str | None,
    group: str | None,
    follow: bool,
    as_json: bool,
) -> None:
    """Print stance changes as they are published to the change topic.

    \b
    Examples:
      timeline subscribe                                 # everything so far, then exit
      timeline subscribe --follow --issue us-backstop    # new changes on one issue
      timeline subscribe --group my-bot --json --follow  # durable: resumes where it stopped
    """
    from streams.clients.subscriber import Subscriber

    settings = settings_of(context)
    filters = ChangeFilter(
        actors=frozenset(actors),
        issues=frozenset(issues),
        kinds=frozenset(ChangeKind(kind) for kind in kinds),
        min_score_move=min_move,
    )

    async def consume() -> None:
        async with Subscriber(settings, group, filters, _start_point(start, follow)) as subscriber:
            while True:
                change = await subscriber.next_change(timeout=1.0)
                if change is not None:
                    click.echo(change.model_dump_json() if as_json else describe_change(change))
                elif not follow and await subscriber.caught_up():
                    await subscriber.commit()
                    return

    reach_kafka(settings)
    try:
        asyncio.run(consume())
    except KeyboardInterrupt:
        pass
