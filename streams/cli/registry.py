"""`timeline registry load`, `timeline actors …`, `timeline issues …`: the registry topic.

Every command reads the topic itself (no worker needed). Exit codes: 0 done; 1 the registry
refuses (an id taken or retired, an unknown id); 2 a usage error or an invalid value; 4 Kafka
cannot be reached; 5 a registry file missing, not YAML, or with an invalid entry.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import BaseModel, ValidationError

from schemas.actors import Actor, ActorKind, Alias
from schemas.issues import Issue
from schemas.problems import problems_of
from schemas.registry_log import ActorRecord, Entity, IssueRecord, RegistryRecord, entity_of
from streams.cli.root import EXIT_USAGE, reach_kafka, settings_of
from streams.cli.tables import table
from streams.settings import Settings

if TYPE_CHECKING:
    from schemas.registry_log import RegistryHistory
    from streams.registry.loading import LoadReport, Written

EXIT_REFUSED = 1


def _history(settings: Settings) -> RegistryHistory:
    from streams.registry.reader import read_registry

    reach_kafka(settings)
    return asyncio.run(read_registry(settings, empty_ok=True))


def _write(settings: Settings, entities: Sequence[Entity], retired: bool = False) -> Written:
    from streams.registry.loading import write_versions

    written = asyncio.run(write_versions(settings, entities, retired=retired))
    if written.late is not None:
        click.echo(
            f"warning: the write took {written.late.total_seconds():.1f}s, longer than the registry's"
            " lead: an event published meanwhile may be decided differently by a rebuild",
            err=True,
        )
    return written


def _refuse(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_REFUSED)


def _validated(model: type[BaseModel], document: dict[str, Any], what: str) -> Any:
    """The document as `model`; one line per problem and exit 2 if it is not valid."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        for problem in problems_of(error):
            click.echo(f"error: {what}: {problem}", err=True)
        sys.exit(EXIT_USAGE)


def _show(record: RegistryRecord, versions: int, as_json: bool) -> None:
    document = record.model_dump(mode="json", exclude_defaults=True)
    document["retired"] = record.retired
    if as_json:
        click.echo(json.dumps({**document, "versions": versions}, indent=2, ensure_ascii=False))
        return
    for name, value in document.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value
        click.echo(f"{name}: {shown}")
    click.echo(f"versions: {versions}")


def _latest(history: RegistryHistory, kind: str, entity_id: str) -> RegistryRecord:
    record = history.latest(f"{kind}:{entity_id}")
    if record is None:
        _refuse(f"unknown {kind} {entity_id!r} (timeline {kind}s list shows the registered ones)")
    assert record is not None
    return record


def _report(report: LoadReport) -> None:
    click.echo(f"published {len(report.published)} version(s), {report.unchanged} unchanged")
    for key in report.differing:
        click.echo(f"kept {key}: it differs on the topic ('timeline registry load FILE' publishes it)")
    for key in report.retired:
        click.echo(f"skipped {key}: it is retired (ids are never reused)")


# -- timeline registry ----------------------------------------------------------------


@click.group()
def registry() -> None:
    """The registry topic: every version of every actor and issue."""


@registry.command("load")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-bundled", is_flag=True, help="Only the files given, not the bundled registry.")
@click.pass_context
def registry_load(context: click.Context, files: tuple[Path, ...], no_bundled: bool) -> None:
    """Publish the bundled registry and each FILE's actors and issues (idempotent).

    An entry equal to its id's latest version is not published again; a later
    file's entry replaces an earlier one's; a retired id is skipped. Every file
    is checked first: a problem in any of them publishes nothing (exit 5).

    \b
    Examples:
      timeline registry load
      timeline registry load my-actors.yaml
    """
    from streams.registry.loading import load_files
    from streams.registry_files import load_registry

    settings = settings_of(context)
    load_registry(list(files), bundled=not no_bundled)  # every file checked before Kafka is asked
    reach_kafka(settings)
    _report(asyncio.run(load_files(settings, files, bundled=not no_bundled)))


# -- timeline actors ------------------------------------------------------------------


@click.group()
def actors() -> None:
    """Actors on the registry topic: add, show, list, alias, retire."""


@actors.command("add")
@click.argument("actor_id", metavar="ID")
@click.option("--name", required=True, help="Display name.")
@click.option("--kind", required=True, type=click.Choice([kind.value for kind in ActorKind]))
@click.option("--country", default=None, help="ISO 3166-1 alpha-3 (DEU); none for the EU or NATO.")
@click.option("--alias", "aliases", multiple=True, help="Another name (repeatable).")
@click.option("--member", "members", multiple=True, help="A member's id, for an organisation or bloc.")
@click.pass_context
def actors_add(
    context: click.Context,
    actor_id: str,
    name: str,
    kind: str,
    country: str | None,
    aliases: tuple[str, ...],
    members: tuple[str, ...],
) -> None:
    """Register a new actor; events naming it are accepted once this returns.

    \b
    Example:
      timeline actors add johann-wadephul --name "Johann Wadephul" --kind person --country DEU
    """
    document = {"id": actor_id, "name": name, "kind": kind, "country": country}
    actor = _validated(Actor, {**document, "aliases": list(aliases), "members": list(members)}, actor_id)
    _register(settings_of(context), "actor", actor)


def _register(settings: Settings, kind: str, entity: Entity) -> None:
    """Write a new id's first version; one already registered, or retired, is refused."""
    found = _history(settings).latest(f"{kind}:{entity.id}")
    if found is not None:
        taken = "was retired: ids are never reused" if found.retired else "is already registered"
        _refuse(f"{kind} {entity.id!r} {taken} (timeline {kind}s show {entity.id})")
    registered_at = _write(settings, [entity]).records[0].registered_at
    click.echo(f"registered {kind} {entity.id} on {settings.topics.registry}, from {registered_at}")


@actors.command("show")
@click.argument("actor_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="The latest version as JSON.")
@click.pass_context
def actors_show(context: click.Context, actor_id: str, as_json: bool) -> None:
    """An actor's latest version (with when it was registered)."""
    history = _history(settings_of(context))
    _show(_latest(history, "actor", actor_id), len(history.versions(f"actor:{actor_id}")), as_json)


@actors.command("list")
@click.option("--all", "everything", is_flag=True, help="Retired actors too.")
@click.option("--json", "as_json", is_flag=True, help="Every latest version as JSON.")
@click.pass_context
def actors_list(context: click.Context, everything: bool, as_json: bool) -> None:
    """The registered actors, by id."""
    records = _history(settings_of(context)).records()
    found = [r for r in records if isinstance(r, ActorRecord) and (everything or not r.retired)]
    _list(
        found,
        as_json,
        ["id", "kind", "country", "name"],
        lambda r: [r.id, r.kind.value, r.country or "-", r.name],
    )


@actors.command("alias")
@click.argument("actor_id", metavar="ID")
@click.argument("alias")
@click.option("--context", "country", default=None, help="Only in this country's context (GBR).")
@click.option("--from", "valid_from", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day.")
@click.option("--to", "valid_to", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day.")
@click.pass_context
def actors_alias(
    context: click.Context, actor_id: str, alias: str, country: str | None, valid_from: Any, valid_to: Any
) -> None:
    """Add an alias to an actor (a new version of it).

    \b
    Example:
      timeline actors alias johann-wadephul "the German Foreign Minister" --from 2025-05-06
    """
    document = {
        "name": alias,
        "context": country,
        "valid_from": _day(valid_from),
        "valid_to": _day(valid_to),
    }
    new_alias = _validated(Alias, document, f"alias {alias!r}")
    settings = settings_of(context)
    record = _latest(_history(settings), "actor", actor_id)
    if record.retired:
        _refuse(f"actor {actor_id!r} is retired")
    actor = entity_of(record)
    assert isinstance(actor, Actor)
    if new_alias in actor.aliases:
        click.echo(f"actor {actor_id} already has that alias: unchanged")
        return
    changed = _validated(Actor, {**actor.model_dump(), "aliases": [*actor.aliases, new_alias]}, actor_id)
    _write(settings, [changed])
    click.echo(f"added alias {alias!r} to {actor_id}")


@actors.command("retire")
@click.argument("actor_id", metavar="ID")
@click.pass_context
def actors_retire(context: click.Context, actor_id: str) -> None:
    """Retire an actor's id: publishers refuse it from now on; its history stays."""
    _retire(settings_of(context), "actor", actor_id)


# -- timeline issues ------------------------------------------------------------------


@click.group()
def issues() -> None:
    """Issues on the registry topic: add, show, list, retire."""


@issues.command("add")
@click.argument("issue_id", metavar="ID")
@click.option("--title", required=True, help="What a stance is about, in a line.")
@click.option("--description", default=None)
@click.pass_context
def issues_add(context: click.Context, issue_id: str, title: str, description: str | None) -> None:
    """Register a new issue.

    \b
    Example:
      timeline issues add ceasefire-monitoring --title "Who monitors a ceasefire in Ukraine"
    """
    issue = _validated(Issue, {"id": issue_id, "title": title, "description": description}, issue_id)
    _register(settings_of(context), "issue", issue)


@issues.command("show")
@click.argument("issue_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="The latest version as JSON.")
@click.pass_context
def issues_show(context: click.Context, issue_id: str, as_json: bool) -> None:
    """An issue's latest version (with when it was registered)."""
    history = _history(settings_of(context))
    _show(_latest(history, "issue", issue_id), len(history.versions(f"issue:{issue_id}")), as_json)


@issues.command("list")
@click.option("--all", "everything", is_flag=True, help="Retired issues too.")
@click.option("--json", "as_json", is_flag=True, help="Every latest version as JSON.")
@click.pass_context
def issues_list(context: click.Context, everything: bool, as_json: bool) -> None:
    """The registered issues, by id."""
    records = _history(settings_of(context)).records()
    found = [r for r in records if isinstance(r, IssueRecord) and (everything or not r.retired)]
    _list(found, as_json, ["id", "title"], lambda r: [r.id, r.title])


@issues.command("retire")
@click.argument("issue_id", metavar="ID")
@click.pass_context
def issues_retire(context: click.Context, issue_id: str) -> None:
    """Retire an issue's id: publishers refuse it from now on; its history stays."""
    _retire(settings_of(context), "issue", issue_id)


def _retire(settings: Settings, kind: str, entity_id: str) -> None:
    record = _latest(_history(settings), kind, entity_id)
    if record.retired:
        click.echo(f"{kind} {entity_id} is already retired: unchanged")
        return
    _write(settings, [entity_of(record)], retired=True)
    click.echo(f"retired {kind} {entity_id}: publishers refuse it from now on")


def _list(found: list[Any], as_json: bool, headers: list[str], row: Any) -> None:
    if as_json:
        documents = [record.model_dump(mode="json", exclude_defaults=True) for record in found]
        click.echo(json.dumps(documents, indent=2, ensure_ascii=False))
        return
    rows = [[str(cell) for cell in row(record)] + ["retired" if record.retired else ""] for record in found]
    click.echo(table([*headers, ""], rows) if rows else "none registered")


def _day(value: Any) -> date | None:
    return value.date() if value is not None else None
