"""`timeline topics`: the project's Kafka topics."""

from __future__ import annotations

import asyncio

import click

from streams.cli.root import reach_kafka, settings_of


@click.group()
def topics() -> None:
    """The project's Kafka topics."""


@topics.command("create")
@click.pass_context
def topics_create(context: click.Context) -> None:
    """Create the topics if missing (idempotent); fail on a partition mismatch."""
    from streams.topics import TopicMismatchError, ensure_topics

    settings = settings_of(context)
    reach_kafka(settings)
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

    settings = settings_of(context)
    reach_kafka(settings)
    for name, count in sorted(asyncio.run(list_topics(settings)).items()):
        click.echo(f"{name}\t{count}")
