"""`timeline broker`: the local Kafka broker."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from streams.cli.root import settings_of
from streams.kafka.connection import local_security
from streams.kafka.local_broker import BrokerError, LocalBroker
from streams.kafka.local_security import CLIENT_USER, MECHANISM


@click.group()
def broker() -> None:
    """The local Kafka broker (KRaft, one node, on loopback)."""


@broker.command("fetch")
@click.pass_context
def broker_fetch(context: click.Context) -> None:
    """Download the broker jars from Maven Central (once)."""
    _run_broker(lambda b: b.fetch(), context)


def _secure(context: click.Context, _: click.Parameter, secure: bool) -> None:
    if secure:
        context.obj = settings_of(context).model_copy(update={"broker_secure": True})


secure_option = click.option(
    "--secure",
    is_flag=True,
    expose_value=False,
    callback=_secure,
    help="The secured broker: SASL_SSL with SCRAM-SHA-512 (as TIMELINE_BROKER_SECURE=true).",
)


@broker.command("start")
@secure_option
@click.pass_context
def broker_start(context: click.Context) -> None:
    """Start the broker, or reuse the running one."""
    _run_broker(lambda b: b.start(), context)
    settings = settings_of(context)
    if settings.broker_secure:
        files = local_security(settings)
        click.echo(
            f"secured: SASL_SSL, {MECHANISM}, user {CLIENT_USER}, CA {files.ca_file}\n"
            "this project's commands connect with TIMELINE_BROKER_SECURE=true; other clients with\n"
            f"  TIMELINE_SECURITY_PROTOCOL=SASL_SSL TIMELINE_SASL_MECHANISM={MECHANISM}"
            f" TIMELINE_SASL_USERNAME={CLIENT_USER}\n"
            f"  TIMELINE_SASL_PASSWORD_FILE={files.password_file(CLIENT_USER)}"
            f" TIMELINE_SSL_CAFILE={files.ca_file}"
        )


@broker.command("stop")
@secure_option
@click.pass_context
def broker_stop(context: click.Context) -> None:
    """Stop the broker cleanly (SIGTERM)."""

    def stop(local: LocalBroker) -> None:
        click.echo("broker stopped" if local.stop() else "no broker was running")

    _run_broker(stop, context)


@broker.command("status")
@secure_option
@click.pass_context
def broker_status(context: click.Context) -> None:
    """Say whether the broker runs; exit 1 if it does not."""
    status = LocalBroker(settings_of(context)).status()
    if status.running:
        click.echo(f"running (pid {status.pid}) on {status.bootstrap}; log: {status.log_file}")
    else:
        click.echo(f"not running (would listen on {status.bootstrap})")
        sys.exit(1)


def _run_broker(action: Callable[[LocalBroker], object], context: click.Context) -> None:
    """A broker failure is a one-line error, not a traceback."""
    try:
        action(LocalBroker(settings_of(context)))
    except BrokerError as error:
        raise click.ClickException(str(error)) from error
