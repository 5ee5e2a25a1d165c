"""`timeline digest` and `timeline scheduler`: the scheduler's commands.

They live beside the scheduler so that nothing in streams/ outside the CLI
imports it; streams/cli adds them to the root group.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from schemas.subscriptions import SINK_KINDS, CronSchedule, DigestSubscription, SinkConfig, redact_sink_id
from streams.cli.root import reach_kafka, settings_of
from streams.cli.subscribe import filter_options


def _parse_sink(text: str, fmt: str, secret: str | None, secret_env: str | None) -> SinkConfig:
    """--sink KIND[:TARGET] as a sink config, checked now; errors name the kind, never a webhook's URL."""
    from pydantic import ValidationError

    from scheduler.subscriptions_file import explain

    kind, _, target = text.partition(":")
    if kind not in SINK_KINDS:
        raise click.BadParameter(
            f"{kind!r} is not a sink: use stdout, file:DIR, topic, webhook:URL or smtp:HOST:PORT/TO",
            param_hint="'--sink'",
        )
    signed = {"secret": secret, "secret_env": secret_env} if kind == "webhook" else {}
    try:
        return SinkConfig.model_validate({"kind": kind, "target": target or None, "format": fmt, **signed})
    except ValidationError as error:
        raise click.BadParameter(f"{kind}: {explain(error)}", param_hint="'--sink'") from error


def _parse_every(text: str) -> int:
    """--every as seconds: 30s, 15m, 1h, 1d, or a bare number of seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
    except (ValueError, IndexError) as error:
        raise click.BadParameter(f"{text!r}: use a number with s, m, h or d, e.g. 30s, 15m, 1h") from error


def _check_secret_options(sinks: tuple[str, ...], secret: str | None, secret_env: str | None) -> None:
    """A key belongs to a webhook, is given one way, and --secret is warned about (it leaks)."""
    if secret is not None and secret_env is not None:
        raise click.UsageError("give --secret-env NAME or --secret, not both")
    if (secret is not None or secret_env is not None) and not any(s.startswith("webhook:") for s in sinks):
        raise click.UsageError("--secret and --secret-env sign webhooks: add a --sink webhook:URL")
    if secret is not None:
        click.echo(
            "warning: --secret shows in the process list and is stored in digests.yaml;"
            " prefer --secret-env NAME",
            err=True,
        )
    if secret_env is not None and not os.environ.get(secret_env):
        click.echo(f"note: {secret_env} is not set here; the scheduler's environment must have it", err=True)


def _load(path: Path) -> list[DigestSubscription]:
    """The subscriptions file, or one line saying what is wrong with it (no traceback)."""
    from scheduler.subscriptions_file import SubscriptionFileError, load_subscriptions

    try:
        return load_subscriptions(path)
    except SubscriptionFileError as error:
        raise click.ClickException(str(error)) from error


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
@click.option(
    "--secret-env",
    default=None,
    metavar="NAME",
    help="Sign webhooks with the key in this environment variable (read by the scheduler at each send).",
)
@click.option("--secret", default=None, help="The webhook HMAC key itself (shows in ps and digests.yaml).")
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
    secret_env: str | None,
    secret: str | None,
    skip_empty: bool,
    catch_up: str,
) -> None:
    """Add (or replace) a digest subscription.

    \b
    Examples:
      timeline digest add morning --cron '0 8 * * *' --tz Europe/London --sink file:digests
      timeline digest add backstop --every 1h --issue us-backstop \\
        --sink webhook:https://example.org/hook --secret-env BACKSTOP_HOOK_KEY
    """
    from pydantic import ValidationError

    from scheduler.subscriptions_file import explain, save_subscriptions

    if (cron is None) == (every is None):
        raise click.UsageError("give exactly one of --cron or --every")
    _check_secret_options(sinks, secret, secret_env)
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
                "sinks": [_parse_sink(sink, fmt, secret, secret_env) for sink in sinks],
                "skip_empty": skip_empty,
                "catch_up": catch_up,
                "start": datetime.now(UTC),
            }
        )
        from scheduler.windows import trigger_for

        trigger_for(subscription)
    except ValidationError as error:
        raise click.ClickException(f"invalid subscription: {explain(error)}") from error
    except ValueError as error:
        raise click.ClickException(f"invalid subscription: {error}") from error
    path = settings.subscriptions_path
    others = [s for s in _load(path) if s.id != name]
    save_subscriptions(path, [*others, subscription])
    click.echo(f"saved digest subscription {name} in {path}")


@digest.command("list")
@click.pass_context
def digest_list(context: click.Context) -> None:
    """List the digest subscriptions (webhook URLs shown as scheme://host/… only)."""
    settings = settings_of(context)
    subscriptions = _load(settings.subscriptions_path)
    if not subscriptions:
        click.echo(f"no digest subscriptions in {settings.subscriptions_path}")
    for subscription in subscriptions:
        schedule = subscription.schedule
        when = (
            f"cron '{schedule.cron}'" if isinstance(schedule, CronSchedule) else f"every {schedule.seconds}s"
        )
        sinks = ", ".join(sink.label for sink in subscription.sinks)
        click.echo(f"{subscription.id}: {when} ({subscription.timezone}) -> {sinks}")


@digest.command("remove")
@click.argument("name")
@click.pass_context
def digest_remove(context: click.Context, name: str) -> None:
    """Remove a digest subscription (its ledger stays)."""
    from scheduler.subscriptions_file import save_subscriptions

    path = settings_of(context).subscriptions_path
    subscriptions = _load(path)
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
        click.echo(f"failed: {digest_id} to {redact_sink_id(sink_id)}: {error}", err=True)
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
