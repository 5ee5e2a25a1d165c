"""`timeline`: the command line for scripts and people.

Exit codes of `timeline publish`: 0 everything sent (or valid, with
--dry-run); 1 invalid input, nothing sent; 3 some lines skipped
(--skip-invalid); 4 the broker could not be reached or refused the events;
2 a usage error.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from schemas.stances import ChangeKind, Stance, StanceChange
from schemas.subscriptions import (
    SINK_KINDS,
    ChangeFilter,
    CronSchedule,
    DigestSubscription,
    IntervalSchedule,
    SinkConfig,
)
from streams.clients.subscriber import StartPoint
from streams.kafka.local_broker import BrokerError, LocalBroker
from streams.settings import Settings

if TYPE_CHECKING:
    from streams.clients.publisher import Outgoing, Publisher

EXIT_INVALID = 1
EXIT_PARTIAL = 3
EXIT_KAFKA = 4


def _settings(context: click.Context) -> Settings:
    settings: Settings = context.obj
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(context: click.Context) -> None:
    """diplomatic-timeline: diplomatic events on Kafka, folded into stances.

    Settings come from TIMELINE_* environment variables (see README).
    """
    context.obj = Settings()


# -- broker ---------------------------------------------------------------


@main.group()
def broker() -> None:
    """The local Kafka broker (KRaft, one node, on loopback)."""


@broker.command("fetch")
@click.pass_context
def broker_fetch(context: click.Context) -> None:
    """Download the broker jars from Maven Central (once)."""
    _run_broker(lambda b: b.fetch(), context)


@broker.command("start")
@click.pass_context
def broker_start(context: click.Context) -> None:
    """Start the broker, or reuse the running one."""
    _run_broker(lambda b: b.start(), context)


@broker.command("stop")
@click.pass_context
def broker_stop(context: click.Context) -> None:
    """Stop the broker cleanly (SIGTERM)."""

    def stop(local: LocalBroker) -> None:
        click.echo("broker stopped" if local.stop() else "no broker was running")

    _run_broker(stop, context)


@broker.command("status")
@click.pass_context
def broker_status(context: click.Context) -> None:
    """Say whether the broker runs; exit 1 if it does not."""
    status = LocalBroker(_settings(context)).status()
    if status.running:
        click.echo(f"running (pid {status.pid}) on {status.bootstrap}; log: {status.log_file}")
    else:
        click.echo(f"not running (would listen on {status.bootstrap})")
        sys.exit(1)


def _run_broker(action: object, context: click.Context) -> None:
    try:
        action(LocalBroker(_settings(context)))  # type: ignore[operator]
    except BrokerError as error:
        raise click.ClickException(str(error)) from error


# -- topics ---------------------------------------------------------------


@main.group()
def topics() -> None:
    """The project's Kafka topics."""


@topics.command("create")
@click.pass_context
def topics_create(context: click.Context) -> None:
    """Create the topics if missing (idempotent); fail on a partition mismatch."""
    from streams.topics import TopicMismatchError, ensure_topics

    settings = _settings(context)
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

    for name, count in sorted(asyncio.run(list_topics(_settings(context))).items()):
        click.echo(f"{name}\t{count}")


# -- publish --------------------------------------------------------------


@main.command()
@click.argument("source", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Only validate; send nothing.")
@click.option("--skip-invalid", is_flag=True, help="Send the valid lines and report the rest.")
@click.pass_context
def publish(context: click.Context, source: IO[bytes], dry_run: bool, skip_invalid: bool) -> None:
    """Publish events from a JSONL file (one event per line), or - for stdin.

    Every line is validated first. By default a file with any invalid line
    sends nothing; each problem is reported with its line and field.

    \b
    Examples:
      timeline publish seed/events.jsonl
      timeline publish --dry-run my-events.jsonl
      cat events.jsonl | timeline publish --skip-invalid -
    """
    from streams.clients.publisher import InvalidEventError, Publisher

    settings = _settings(context)
    publisher = Publisher(settings)
    prepared = []
    problems: list[InvalidEventError] = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            prepared.append(publisher.prepare_outgoing(line, line=number))
        except InvalidEventError as error:
            problems.append(error)
    for problem in problems:
        click.echo(f"invalid: {problem} [{problem.reason}]", err=True)
    name = getattr(source, "name", "-")
    if problems and not skip_invalid:
        click.echo(
            f"{len(problems)} invalid line(s) in {name}: nothing sent"
            " (fix them, or use --skip-invalid to send the valid ones)",
            err=True,
        )
        sys.exit(EXIT_INVALID)
    if dry_run:
        click.echo(f"{len(prepared)} valid event(s), {len(problems)} invalid (dry run: nothing sent)")
        sys.exit(EXIT_PARTIAL if problems else 0)
    try:
        sent = asyncio.run(_send(publisher, prepared))
    except Exception as error:  # noqa: BLE001 - any Kafka failure is reported the same way
        click.echo(f"error: could not publish to {settings.bootstrap}: {error!r}", err=True)
        sys.exit(EXIT_KAFKA)
    click.echo(f"published {sent} event(s) to {publisher.topic}")
    if problems:
        click.echo(f"skipped {len(problems)} invalid line(s)", err=True)
        sys.exit(EXIT_PARTIAL)


async def _send(publisher: Publisher, prepared: Sequence[Outgoing]) -> int:
    async with publisher:
        if not sys.stderr.isatty() or len(prepared) < 200:
            results = await publisher.send_prepared(prepared)
        else:
            with click.progressbar(length=len(prepared), label="publishing", file=sys.stderr) as progress:
                results = await publisher.send_prepared(prepared, on_sent=progress.update)
    return len(results)


# -- schema ---------------------------------------------------------------


@main.group()
def schema() -> None:
    """The JSON Schema documents of the public models."""


@schema.command("export")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("schemas/jsonschema"),
    show_default=True,
)
@click.option("--check", is_flag=True, help="Exit 1 if the files in --out are stale; write nothing.")
def schema_export(out: Path, check: bool) -> None:
    """Write (or check) one JSON Schema file per public model."""
    from schemas.json_schema import json_schemas, render

    stale = []
    for file_name, document in json_schemas().items():
        path = out / file_name
        text = render(document)
        if check:
            if not path.exists() or path.read_text("utf-8") != text:
                stale.append(str(path))
            continue
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        click.echo(f"wrote {path}")
    if stale:
        click.echo("stale JSON Schema files (run 'timeline schema export'): " + ", ".join(stale), err=True)
        sys.exit(1)


# -- worker and queries ---------------------------------------------------


@main.command()
@click.option("--web-port", type=int, default=None, help="Port of the query API (TIMELINE_WEB_PORT).")
@click.pass_context
def worker(context: click.Context, web_port: int | None) -> None:
    """Run a stream worker: agents, tables, the view and the query API (Ctrl-C stops).

    Several workers share the partitions; each answers every query.
    """
    from streams.worker.run import run_worker

    settings = _settings(context)
    if web_port is not None:
        settings = settings.model_copy(update={"web_port": web_port})
    run_worker(settings)


def _query(settings: Settings, path: str, params: dict[str, str | None] | None = None) -> object:
    from streams.query.client import QueryError, get_json

    try:
        return get_json(settings.api, path, params)
    except QueryError as error:
        raise click.ClickException(str(error)) from error


def _stance_rows(stances: list[dict[str, object]]) -> list[list[str]]:
    rows = []
    for stance in stances:
        occurred = stance["occurred_at"]
        assert isinstance(occurred, dict)
        day = str(occurred["at"])[:10]
        quote = str(stance.get("quote") or "")
        rows.append(
            [
                str(stance["issue_id"]),
                str(stance["position"]),
                f"{stance['score']:+.2f}",
                f"{stance['confidence']:.2f}",
                day,
                str(stance["event_id"]),
                (quote[:57] + "...") if len(quote) > 60 else quote,
            ]
        )
    return rows


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


STANCE_HEADERS = ["issue", "position", "score", "conf.", "date", "event", "quote"]


@main.command()
@click.argument("actor")
@click.option("--issue", default=None, help="Only this issue.")
@click.option("--as-of", "as_of", default=None, help="A date (2025-02-18) or instant: the stance then.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON (the Stance schema).")
@click.pass_context
def stance(context: click.Context, actor: str, issue: str | None, as_of: str | None, as_json: bool) -> None:
    """An actor's current stance on each issue (or as of a date).

    \b
    Examples:
      timeline stance keir-starmer
      timeline stance donald-trump --issue european-peacekeepers --as-of 2025-02-17
    """
    stances = _query(_settings(context), f"/actors/{actor}/stances", {"as_of": as_of})
    assert isinstance(stances, list)
    if issue is not None:
        stances = [s for s in stances if s["issue_id"] == issue]
    if as_json:
        click.echo(json.dumps(stances, indent=2, ensure_ascii=False))
        return
    title = f"{actor}" + (f" as of {as_of}" if as_of else "")
    if not stances:
        click.echo(f"{title}: no stance" + (f" on {issue}" if issue else ""))
        return
    click.echo(title)
    click.echo(_table(STANCE_HEADERS, _stance_rows(stances)))


@main.command("timeline")
@click.argument("actor")
@click.option("--issue", default=None, help="Only this issue.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.pass_context
def timeline_command(context: click.Context, actor: str, issue: str | None, as_json: bool) -> None:
    """An actor's claims in event-time order."""
    claims = _query(_settings(context), f"/actors/{actor}/timeline", {"issue": issue})
    assert isinstance(claims, list)
    if as_json:
        click.echo(json.dumps(claims, indent=2, ensure_ascii=False))
        return
    click.echo(_table(STANCE_HEADERS, _stance_rows(claims)) if claims else f"{actor}: no claims")


@main.command()
@click.option("--since", default=None, help="Only changes detected at or after this instant (ISO 8601).")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON (the StanceChange schema).")
@click.pass_context
def changes(context: click.Context, since: str | None, as_json: bool) -> None:
    """Stance changes, oldest first."""
    found = _query(_settings(context), "/changes", {"since": since})
    assert isinstance(found, list)
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    rows = []
    for change in found:
        before = change.get("previous") or {}
        after = change.get("current") or {}
        rows.append(
            [
                str(change["detected_at"])[:19],
                change["kind"],
                change["actor_id"],
                change["issue_id"],
                str(before.get("position", "-")),
                str(after.get("position", "-")),
                change["event_id"],
            ]
        )
    headers = ["detected", "kind", "actor", "issue", "from", "to", "event"]
    click.echo(_table(headers, rows) if rows else "no changes")


@main.command()
@click.option("--compare", is_flag=True, help="Compare with the live hash; exit 1 if different.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--processes",
    type=click.IntRange(1, 2),
    default=None,
    help="2: the stance step in a second process (the default with two cores or more); 1: one process.",
)
@click.pass_context
def rebuild(context: click.Context, compare: bool, as_json: bool, processes: int | None) -> None:
    """Replay the whole event log from offset 0 into fresh state; print its SHA-256."""
    from dataclasses import asdict

    from streams.registry_files import load_registry
    from streams.replay.rebuild import rebuild as run_rebuild

    settings = _settings(context)
    registry = load_registry(settings.registry_files)
    if sys.stderr.isatty():
        with click.progressbar(length=0, label="replaying", file=sys.stderr) as progress:

            def on_progress(done: int, total: int) -> None:
                progress.length = total
                progress.update(done - progress.pos)

            result = asyncio.run(run_rebuild(settings, registry, on_progress, processes))
    else:
        result = asyncio.run(run_rebuild(settings, registry, processes=processes))
    summary = asdict(result)
    live = None
    if compare:
        live_state = _query(settings, "/state/hash")
        assert isinstance(live_state, dict)
        live = live_state["sha256"]
        summary["live_sha256"] = live
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        rate = result.events / result.seconds if result.seconds else 0.0
        click.echo(
            f"replayed {result.events} events in {result.seconds:.2f}s ({rate:,.0f}/s):"
            f" {result.stances} stances, {result.claims} claims, {result.changes} changes,"
            f" {result.dead_letters} dead letters"
        )
        click.echo(f"sha256 {result.sha256}")
        if live is not None:
            click.echo(f"live   {live}  ({'equal' if live == result.sha256 else 'DIFFERENT'})")
    if live is not None and live != result.sha256:
        sys.exit(1)


# -- subscribe ------------------------------------------------------------


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


@main.command()
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

    settings = _settings(context)
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

    try:
        asyncio.run(consume())
    except KeyboardInterrupt:
        pass


# -- digests --------------------------------------------------------------


def _parse_sink(text: str, fmt: str, secret: str | None) -> SinkConfig:
    kind, _, target = text.partition(":")
    if kind not in SINK_KINDS:
        raise click.BadParameter(
            f"{text!r}: a sink is stdout, file:DIR, topic, webhook:URL or smtp:HOST:PORT/TO"
        )
    return SinkConfig.model_validate(
        {"kind": kind, "target": target or None, "format": fmt, "secret": secret}
    )


def _parse_every(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
    except (ValueError, IndexError) as error:
        raise click.BadParameter(f"{text!r}: use a number with s, m, h or d, e.g. 30s, 15m, 1h") from error


@main.group()
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
    settings = _settings(context)
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

    settings = _settings(context)
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

    path = _settings(context).subscriptions_path
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

    settings = _settings(context)
    report = asyncio.run(run_digest_job(name, settings.model_dump_json()))
    if report is None:
        raise click.ClickException(f"no digest subscription {name!r} in {settings.subscriptions_path}")
    click.echo(
        f"built {len(report.built)} digest(s); {len(report.delivered)} delivered, {len(report.failed)} failed"
    )
    for digest_id, sink_id, error in report.failed:
        click.echo(f"failed: {digest_id} to {sink_id}: {error}", err=True)
    if report.failed:
        sys.exit(1)


@main.command("scheduler")
@click.pass_context
def scheduler_command(context: click.Context) -> None:
    """Run the digest scheduler service (Ctrl-C stops)."""
    import logging

    from scheduler.service import DigestService

    logging.basicConfig(level=logging.WARNING, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    logging.getLogger("scheduler").setLevel(logging.INFO)
    asyncio.run(DigestService(_settings(context)).run())


# -- up -------------------------------------------------------------------


@main.command()
@click.option(
    "--seed",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="JSONL events to publish once everything runs (default: seed/events.jsonl if present).",
)
@click.option("--detach", is_flag=True, help="Leave everything running and return.")
@click.pass_context
def up(context: click.Context, seed: Path | None, detach: bool) -> None:
    """Start everything (broker, topics, worker), load the seed; Ctrl-C stops it all cleanly."""
    from streams.clients.publisher import Publisher
    from streams.query.client import QueryError, wait_until_ready
    from streams.topics import ensure_topics

    settings = _settings(context)
    local = LocalBroker(settings)
    try:
        local.start()
    except BrokerError as error:
        raise click.ClickException(str(error)) from error
    worker_process: subprocess.Popen[bytes] | None = None
    scheduler_process: subprocess.Popen[bytes] | None = None
    try:
        asyncio.run(ensure_topics(settings))
        _ensure_default_digest(settings)
        worker_process = _start_worker(settings)
        scheduler_process = _start_process(settings, "scheduler", "scheduler.log")
        click.echo(f"worker starting (pid {worker_process.pid}); query API on {settings.api}")
        try:
            process = worker_process
            wait_until_ready(settings.api, timeout=180, alive=lambda: process.poll() is None)
        except QueryError as error:
            tail = _worker_log(settings).read_text(errors="replace").strip()[-2000:]
            raise click.ClickException(f"{error}; last lines of {_worker_log(settings)}:\n{tail}") from error
        seed = seed or (Path("seed/events.jsonl") if Path("seed/events.jsonl").exists() else None)
        if seed is not None:
            publisher = Publisher(settings)
            prepared = [
                publisher.prepare_outgoing(line, line=number)
                for number, line in enumerate(seed.read_bytes().splitlines(), start=1)
                if line.strip()
            ]
            count = asyncio.run(_send(publisher, prepared))
            click.echo(f"published {count} seed event(s) from {seed}")
            _wait_for_events(settings, {key.decode() for key, _ in prepared})
        click.echo(_next_steps(settings))
        (settings.home / "worker.pid").write_text(str(worker_process.pid))
        (settings.home / "scheduler.pid").write_text(str(scheduler_process.pid))
        if detach:
            return
        click.echo("running; press Ctrl-C to stop everything")
        _wait_for_interrupt()
    finally:
        if not detach:
            click.echo("stopping ...")
            for running in (scheduler_process, worker_process):
                if running is not None:
                    _stop_process(running)
            local.stop()
            click.echo("stopped")


def _worker_log(settings: Settings) -> Path:
    return settings.home / f"worker-{settings.web_port}.log"


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    return _start_process(settings, "worker", _worker_log(settings).name)


def _start_process(settings: Settings, command: str, log_name: str) -> subprocess.Popen[bytes]:
    log_path = settings.home / log_name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "streams.cli", command],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


DEFAULT_DIGEST = "seed-watch"


def _ensure_default_digest(settings: Settings) -> None:
    """On a first run, a one-minute digest of everything, as Markdown files and on the digest topic."""
    from scheduler.subscriptions_file import save_subscriptions

    if settings.subscriptions_path.exists():
        return
    folder = (settings.home / "digests").absolute()
    save_subscriptions(
        settings.subscriptions_path,
        [
            DigestSubscription(
                id=DEFAULT_DIGEST,
                schedule=IntervalSchedule(seconds=60),
                sinks=(SinkConfig(kind="file", target=str(folder)), SinkConfig(kind="topic")),
                start=datetime.now(UTC),
            )
        ],
    )
    click.echo(f"created digest subscription {DEFAULT_DIGEST}: every minute, Markdown files in {folder}")


def _stop_process(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_events(settings: Settings, event_ids: set[str | None], timeout: float = 60) -> None:
    """Wait until the worker's view holds every published event, so the first query answers."""
    import time

    from streams.query.client import QueryError, get_json

    deadline = time.monotonic() + timeout
    pending = {event_id for event_id in event_ids if event_id}
    while pending and time.monotonic() < deadline:
        for event_id in list(pending):
            try:
                get_json(settings.api, f"/events/{event_id}")
                pending.discard(event_id)
            except QueryError:
                break
        time.sleep(0.2)
    if pending:
        click.echo(f"warning: {len(pending)} seed event(s) not yet in the view", err=True)


@main.command()
@click.pass_context
def down(context: click.Context) -> None:
    """Stop what `timeline up --detach` (or an interrupted `make run`) left running."""
    settings = _settings(context)
    for name in ("scheduler", "worker"):
        pid_file = settings.home / f"{name}.pid"
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGTERM)
            click.echo(f"stopped the {name} (pid {pid})")
        except (FileNotFoundError, ValueError, ProcessLookupError):
            pass
        pid_file.unlink(missing_ok=True)
    click.echo("broker stopped" if LocalBroker(settings).stop() else "no broker was running")


def _wait_for_interrupt() -> None:
    received = []
    signal.signal(signal.SIGTERM, lambda *_: received.append(True))
    try:
        while not received:
            signal.pause() if hasattr(signal, "pause") else None
    except KeyboardInterrupt:
        pass


def _next_steps(settings: Settings) -> str:
    topic = f"{settings.topic_prefix}events"
    return (
        f"\nbroker: {settings.bootstrap}\n"
        "try:\n"
        f"  kcat -b {settings.bootstrap} -C -t {topic} -e -o beginning | head -3\n"
        "  .venv/bin/timeline stance keir-starmer\n"
        f"  curl -s {settings.api}/issues/us-backstop/stances\n"
        "  .venv/bin/timeline changes\n"
        f"  open {settings.api}/docs for the API\n"
        "  .venv/bin/timeline subscribe --follow\n"
        f"  ls {(settings.home / 'digests').absolute()}   # a Markdown digest each minute\n"
    )


if __name__ == "__main__":
    main()
