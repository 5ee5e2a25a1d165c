"""`timeline worker`: one stream worker process."""

from __future__ import annotations

import click

from streams.cli.root import reach_kafka, settings_of


@click.command()
@click.option("--web-port", type=int, default=None, help="Port of the query API (TIMELINE_WEB_PORT).")
@click.pass_context
def worker(context: click.Context, web_port: int | None) -> None:
    """Run a stream worker: agents, tables, the view and the query API (Ctrl-C stops).

    Several workers share the partitions; each answers every query.
    """
    from streams.worker.run import run_worker

    settings = settings_of(context)
    if web_port is not None:
        settings = settings.model_copy(update={"web_port": web_port})
    reach_kafka(settings)
    run_worker(settings)
