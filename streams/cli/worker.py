"""`timeline worker`: one stream worker process."""

from __future__ import annotations

import click

from streams.cli.root import reach_kafka, settings_of


@click.command()
@click.option("--web-port", type=int, default=None, help="Port of the query API (TIMELINE_WEB_PORT).")
@click.pass_context
def worker(context: click.Context, web_port: int | None) -> None:
    """Run a stream worker: agents, tables and the query API (Ctrl-C stops).

    Several workers share the partitions: each holds its own, and answers every
    query (forwarding it to the worker holding the key, or gathering from all).
    """
    from streams.query.access import is_loopback
    from streams.worker.run import run_worker

    settings = settings_of(context)
    if web_port is not None:
        settings = settings.model_copy(update={"web_port": web_port})
    if not is_loopback(settings.web_host) and settings.api_token is None:
        raise click.ClickException(
            f"refusing to serve the query API on {settings.web_host} without a token:"
            " set TIMELINE_API_TOKEN (every client then sends 'Authorization: Bearer TOKEN')"
        )
    reach_kafka(settings)
    run_worker(settings)
