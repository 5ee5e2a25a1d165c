"""`timeline schema`: the committed JSON Schema files of the public models."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
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
