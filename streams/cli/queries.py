"""`timeline stance`, `timeline timeline`, `timeline changes`: questions to a worker's query API."""

from __future__ import annotations

import json
from typing import Any

import click

from streams.cli.root import settings_of
from streams.cli.tables import STANCE_HEADERS, stance_rows, table
from streams.settings import Settings


def api_token(settings: Settings) -> str | None:
    return settings.api_token.get_secret_value() if settings.api_token is not None else None


def query_api(settings: Settings, path: str, params: dict[str, str | None] | None = None) -> object:
    """GET from the query API; an unreachable worker or an error answer is a one-line error."""
    from streams.query.client import QueryError, get_json

    try:
        return get_json(settings.api, path, params, token=api_token(settings))
    except QueryError as error:
        raise click.ClickException(str(error)) from error


def query_items(settings: Settings, path: str, params: dict[str, str | None] | None = None) -> list[Any]:
    """Every item of a paged list of the query API, following `next`; errors as in `query_api`."""
    from streams.query.client import QueryError, get_items

    try:
        return get_items(settings.api, path, params, token=api_token(settings))
    except QueryError as error:
        raise click.ClickException(str(error)) from error


@click.command()
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
    stances = query_items(settings_of(context), f"/actors/{actor}/stances", {"as_of": as_of})
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
    click.echo(table(STANCE_HEADERS, stance_rows(stances)))


@click.command("timeline")
@click.argument("actor")
@click.option("--issue", default=None, help="Only this issue.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.pass_context
def timeline_command(context: click.Context, actor: str, issue: str | None, as_json: bool) -> None:
    """An actor's claims in event-time order."""
    claims = query_items(settings_of(context), f"/actors/{actor}/timeline", {"issue": issue})
    if as_json:
        click.echo(json.dumps(claims, indent=2, ensure_ascii=False))
        return
    click.echo(table(STANCE_HEADERS, stance_rows(claims)) if claims else f"{actor}: no claims")


def all_changes(settings: Settings, since: str | None) -> list[dict[str, Any]]:
    """Every page of /changes, following `next` (a page is in detection order, and each change
    comes once: a change re-sent after a crash that lands on a later page is left out)."""
    found: list[dict[str, Any]] = []
    seen: set[object] = set()
    params: dict[str, str | None] = {"since": since, "limit": "1000"}
    while True:
        page = query_api(settings, "/changes", params)
        assert isinstance(page, dict)
        for change in page["items"]:
            if change["change_id"] not in seen:
                seen.add(change["change_id"])
                found.append(change)
        if page["next"] is None:
            return found
        params = {"cursor": page["next"], "limit": "1000"}


@click.command()
@click.option("--since", default=None, help="Only changes detected at or after this instant (ISO 8601).")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON (the StanceChange schema).")
@click.pass_context
def changes(context: click.Context, since: str | None, as_json: bool) -> None:
    """Stance changes, oldest first."""
    found = all_changes(settings_of(context), since)
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
    click.echo(table(headers, rows) if rows else "no changes")
