"""`timeline digest` and `timeline scheduler`: the scheduler's commands.

They live beside the scheduler so that nothing in streams/ outside the CLI
imports it; streams/cli adds them to the root group.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import click

from schemas.subscriptions import SINK_KINDS, CronSchedule, DigestSubscription, SinkConfig
from streams.cli.root import reach_kafka, settings_of
from streams.cli.subscribe import filter_options


def _parse_sink(text: str, fmt: str, secret: str | None) -> SinkConfig:
    """--sink KIND[:TARGET] as a sink config; an unknown kind is a usage error that lists the kinds."""
    kind, _, target = text.partition(":")
    if kind not in SINK_KINDS:
        raise click.BadParameter(
            f"{text!r}: a sink is stdout, file:DIR, topic, webhook:URL or smtp:HOST:PORT/TO"
        )
    return SinkConfig.model_validate(
        {"kind": kind, "target": target or None, "format": fmt, "secret": secret}
    )


def _parse_every(text: str) -> int:
    """--every as seconds: 30s, 15m, 1h, 1d, or a bare number of seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
    except (ValueError, IndexError) as error:
        raise click.BadParameter(f"{text!r}: use a number with s, m, h or d, e.g. 30s, 15m, 1h") from error


@click.group()
def digest() -> None:
    """Digest subscriptions: scheduled summaries of stance changes."""


@digest.command("add")
@click.argument("name")
@click.option("--cron", default=None, help="Crontab fields, e.g. '0 8 * * *' (08:00 daily).")
@click.option("--every", default=None, help="A fixed window length: 30s, 15m, 1h, 1d.")
@click.option("--tz", "timezone", default="UTC", show_default=True, help="Time zone of the schedule.")
@filter_options
@click.option(
    "--sink",
    "sinks",
    multiple=True,
    default=("stdout",),
    show_default=True,
    help="stdout, file:DIR, topic, webhook:URL or smtp:HOST:PORT/TO (repeatable).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "html"]), default="markdown")
@click.option("--secret", default=None, help="Webhook HMAC key.")
@click.option("--skip-empty", is_flag=True, help="Send nothing for a window without changes.")
@click.option("--catch-up", type=click.Choice(["each", "coalesce"]), default="each", show_default=True)
@click.pass_context
def digest_add(
    context: click.Context,
    name: str,
    cron: str | None,
    every: str | None,
    timezone: str,
    actors: tuple[str, ...],
    issues: tuple[str, ...],
    kinds: tuple[str, ...],
    min_move: float,
    sinks: tuple[str, ...],
    fmt: str,
    secret: str | None,
    skip_empty: bool,
    catch_up: str,
) -> None:
    """Add (or replace) a digest subscription.

    \b
    Examples:
      timeline digest add morning --cron '0 8 * * *' --tz Europe/London --sink file:digests
      timeline digest add backstop --every 1h --issue us-backstop --sink webhook:https://example.org/hook
    """
    from pydantic import ValidationError

    from scheduler.subscriptions_file import load_subscriptions, save_subscriptions

    if (cron is None) == (every is None):
        raise click.UsageError("give exactly one of --cron or --every")
    schedule: dict[str, object] = (
        {"kind": "cron", "cron": cron} if cron else {"kind": "interval", "seconds": _parse_every(every or "")}
    )
    settings = settings_of(context)
    try:
        subscription = DigestSubscription.model_validate(
            {
                "id": name,
                "schedule": schedule,
                "timezone": timezone,
                "filters": {"actors": actors, "issues": issues, "kinds": kinds, "min_score_move": min_move},
                "sinks": [_parse_sink(sink, fmt, secret) for sink in sinks],
                "skip_empty": skip_empty,
                "catch_up": catch_up,
                "start": datetime.now(UTC),
            }
        )
        from scheduler.windows import trigger_for

        trigger_for(subscription)
    except (ValidationError, ValueError) as error:
        raise click.ClickException(f"invalid subscription: {error}") from error
    path = settings.subscriptions_path
    others = [s for s in load_subscriptions(path) if s.id != name]
    save_subscriptions(path, [*others, subscription])
    click.echo(f"saved digest subscription {name} in {path}")


@digest.command("list")
@click.pass_context
def digest_list(context: click.Context) -> None:
    """List the digest subscriptions."""
    from scheduler.subscriptions_file import load_subscriptions

    settings = settings_of(context)
    subscriptions = load_subscriptions(settings.subscriptions_path)
    if not subscriptions:
        click.echo(f"no digest subscriptions in {settings.subscriptions_path}")
    for subscription in subscriptions:
        schedule = subscription.schedule
        when = (
            f"cron '{schedule.cron}'" if isinstance(schedule, CronSchedule) else f"every {schedule.seconds}s"
        )
        sinks = ", ".join(sink.sink_id.rstrip(":") for sink in subscription.sinks)
        click.echo(f"{subscription.id}: {when} ({subscription.timezone}) -> {sinks}")


@digest.command("remove")
@click.argument("name")
@click.pass_context
def digest_remove(context: click.Context, name: str) -> None:
    """Remove a digest subscription (its ledger stays)."""
    from scheduler.subscriptions_file import load_subscriptions, save_subscriptions

    path = settings_of(context).subscriptions_path
    subscriptions = load_subscriptions(path)
    if name not in {s.id for s in subscriptions}:
        raise click.ClickException(f"no digest subscription {name!r} in {path}")
    save_subscriptions(path, [s for s in subscriptions if s.id != name])
    click.echo(f"removed {name}")


@digest.command("run")
@click.argument("name")
@click.pass_context
def digest_run(context: click.Context, name: str) -> None:
    """Build and deliver the closed windows of a subscription now (what the scheduler does)."""
    from scheduler.service import run_digest_job

    settings = settings_of(context)
    reach_kafka(settings)
    report = asyncio.run(run_digest_job(name, settings.without_secrets_json()))
    if report is None:
        raise click.ClickException(f"no digest subscription {name!r} in {settings.subscriptions_path}")
    click.echo(
        f"built {len(report.built)} digest(s); {len(report.delivered)} delivered, {len(report.failed)} failed"
    )
    for digest_id, sink_id, error in report.failed:
        click.echo(f"failed: {digest_id} to {sink_id}: {error}", err=True)
    if report.failed:
        sys.exit(1)


@click.command("scheduler")
@click.pass_context
def scheduler_command(context: click.Context) -> None:
    """Run the digest scheduler service (Ctrl-C stops)."""
    import logging

    from scheduler.service import DigestService

    logging.basicConfig(level=logging.WARNING, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    logging.getLogger("scheduler").setLevel(logging.INFO)
    settings = settings_of(context)
    reach_kafka(settings)
    asyncio.run(DigestService(settings).run())
