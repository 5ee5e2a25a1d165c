"""`timeline draft`: draft events from a news text; `timeline draft accept` after review.

`timeline draft ARTICLE` is the group's default command (`article`, not listed): a group cannot
take a file argument beside its subcommands, so a first argument that names no subcommand is
read as `article`'s. It drafts against the registry topic when a broker answers at once (the
registry the publisher will check), else offline against the bundled files and the user's.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from typing import IO, TYPE_CHECKING, Any

import click
import orjson

from streams.cli.root import settings_of

if TYPE_CHECKING:
    from schemas.registry import Registry
    from streams.settings import Settings

DEFAULT = "article"
CONNECT_SECONDS = 1.5
"""How long a draft waits for a broker before it drafts offline: a draft never hangs on Kafka."""
READ_SECONDS = 20.0
"""How long reading the registry topic may take once a broker has answered."""


def draft_registry(settings: Settings, offline: bool = False) -> tuple[Registry, str]:
    """The registry to draft against, and where it came from (one line for standard error)."""
    from streams.registry_files import load_registry

    files = "the bundled registry files and TIMELINE_REGISTRY_FILES"
    if offline:
        return load_registry(settings.registry_files), f"registry: {files} (--offline)"
    try:
        registry = asyncio.run(_topic_registry(settings))
    except Exception as error:  # noqa: BLE001 - any failure to read the topic means: draft offline
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        return load_registry(settings.registry_files), f"registry: {files} (no registry topic: {reason})"
    return registry, f"registry: the topic {settings.topics.registry} ({len(registry.actors)} actors)"


async def _topic_registry(settings: Settings) -> Registry:
    from streams.kafka.preflight import check_connection
    from streams.registry.reader import read_registry

    await check_connection(settings, timeout=CONNECT_SECONDS)
    history = await asyncio.wait_for(read_registry(settings), READ_SECONDS)
    return history.current().without_retired()


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
@click.option("--offline", is_flag=True, help="Do not try the broker: the registry files only.")
@click.pass_context
def article(
    context: click.Context,
    article: IO[str],
    published: str,
    outlet: str | None,
    title: str | None,
    url: str | None,
    output: IO[bytes],
    offline: bool,
) -> None:
    """Write a draft event per happening the text reports, each with its evidence under `draft`.

    The registry is the registry topic's when a broker answers within a second or two, else the
    bundled files and TIMELINE_REGISTRY_FILES (standard error says which).
    """
    from streams.drafting.compose import draft_events

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
    registry, registry_note = draft_registry(settings_of(context), offline)
    click.echo(registry_note, err=True)
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
