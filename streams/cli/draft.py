"""`timeline draft`: draft events from a news text, offline; `timeline draft accept` after review.

`timeline draft ARTICLE` is the group's default command (`article`, not listed): a group cannot
take a file argument beside its subcommands, so a first argument that names no subcommand is
read as `article`'s.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import IO, Any

import click
import orjson

from streams.cli.root import settings_of

DEFAULT = "article"


class DraftGroup(click.Group):
    def parse_args(self, context: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [DEFAULT, *args]
        return super().parse_args(context, args)


@click.group(cls=DraftGroup)
def draft() -> None:
    """Draft events from an article (offline), for a person to review, then publish.

    \b
    Examples:
      timeline draft article.txt --published 2025-02-21 --outlet "BBC News" -o draft.jsonl
      timeline draft accept draft.jsonl -o ready.jsonl   # after review: drop the markers
      timeline publish ready.jsonl
    """


@draft.command(name=DEFAULT, hidden=True)
@click.argument("article", type=click.File("r", encoding="utf-8"))
@click.option("--published", required=True, help="The article's publication day (YYYY-MM-DD).")
@click.option("--outlet", help="The outlet (gives each event its source).")
@click.option("--title", help="The article's title.")
@click.option("--url", help="The article's address.")
@click.option(
    "-o", "--output", type=click.File("wb"), default="-", help="Where the JSONL goes (default stdout)."
)
@click.pass_context
def article(
    context: click.Context,
    article: IO[str],
    published: str,
    outlet: str | None,
    title: str | None,
    url: str | None,
    output: IO[bytes],
) -> None:
    """Write a draft event per happening the text reports, each with its evidence under `draft`."""
    from streams.drafting.compose import draft_events
    from streams.registry_files import load_registry

    try:
        day = date.fromisoformat(published)
    except ValueError:
        raise click.BadParameter(
            f"{published!r} is not a day: write YYYY-MM-DD", param_hint="--published"
        ) from None
    if (title or url) and not outlet:
        raise click.UsageError("--title and --url describe a source: give its --outlet too")
    source: dict[str, Any] | None = None
    if outlet:
        source = {"outlet": outlet, "published_at": day.isoformat()}
        source |= {key: value for key, value in (("title", title), ("url", url)) if value}
    registry = load_registry(settings_of(context).registry_files)
    events, proposals = draft_events(article.read(), day, registry, source)
    for event in events:
        output.write(orjson.dumps(event) + b"\n")
    output.flush()
    for proposal in proposals:
        click.echo(f"unknown person {proposal.name!r}: {proposal.command()}", err=True)
    click.echo(
        f"{len(events)} draft event(s), {sum(len(e['stances']) for e in events)} suggested claim(s):"
        " review them, then 'timeline draft accept FILE'",
        err=True,
    )


@draft.command()
@click.argument("source", type=click.File("rb"))
@click.option("-o", "--output", type=click.File("wb"), default="-", help="Where the reviewed JSONL goes.")
def accept(source: IO[bytes], output: IO[bytes]) -> None:
    """Remove the draft markers of a reviewed file, so that it can be published.

    Only the markers go: whatever you kept or edited in each event stays as it is.
    """
    from streams.drafting.marker import accept_lines

    try:
        for line in accept_lines(source):
            output.write(line + b"\n")
    except orjson.JSONDecodeError as error:
        click.echo(f"error: {getattr(source, 'name', '-')}: not JSON lines ({error})", err=True)
        sys.exit(2)
    output.flush()
