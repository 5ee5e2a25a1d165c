"""The committed JSON Schema files match the models, and real events validate against them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from schemas.events import encode_event
from schemas.json_schema import json_schemas, render
from streams.cli.entry import main
from streams.clients.publisher import prepare_event
from streams.registry_files import load_registry


def test_committed_json_schemas_are_not_stale(repo: Path) -> None:
    folder = repo / "schemas" / "jsonschema"
    stale = [
        name
        for name, schema in json_schemas().items()
        if not (folder / name).exists() or (folder / name).read_text("utf-8") != render(schema)
    ]
    assert stale == [], f"run 'make schema' (timeline schema export): stale {stale}"


def test_schema_export_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["schema", "export", "--out", str(tmp_path)]).exit_code == 0
    assert runner.invoke(main, ["schema", "export", "--check", "--out", str(tmp_path)]).exit_code == 0
    (tmp_path / "actor.schema.json").write_text("{}")
    stale = runner.invoke(main, ["schema", "export", "--check", "--out", str(tmp_path)])
    assert stale.exit_code == 1 and "actor.schema.json" in stale.output


def test_published_seed_events_validate_against_the_event_schema(repo: Path) -> None:
    schema = json.loads((repo / "schemas/jsonschema/diplomatic-event.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    registry = load_registry()
    lines = (repo / "seed" / "events.jsonl").read_bytes().splitlines()
    for line in lines:
        event, encoded = prepare_event(line, registry, 256 * 1024)
        assert encoded == encode_event(event)
        errors = [error.message for error in validator.iter_errors(json.loads(encoded))]
        assert errors == []


def test_the_schema_refuses_what_the_validator_refuses(repo: Path) -> None:
    schema = json.loads((repo / "schemas/jsonschema/diplomatic-event.schema.json").read_text())
    bad = {
        "type": "statement",
        "occurred_at": {"at": "2025-02-20T00:00:00Z", "precision": "day"},
        "summary": "x",
        "stances": [{"actor_id": "a", "issue_id": "b", "position": "maybe", "score": 0.1}],
    }
    assert not jsonschema.Draft202012Validator(schema).is_valid(bad)


def test_every_seed_line_as_written_validates_against_the_input_schema(repo: Path) -> None:
    """What a publisher writes (text times, ids or aliases) is what the input schema describes."""
    schema = json.loads((repo / "schemas/jsonschema/diplomatic-event.input.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    lines = (repo / "seed" / "events.jsonl").read_bytes().splitlines()
    assert len(lines) == 13
    for line in lines:
        assert [error.message for error in validator.iter_errors(json.loads(line))] == []


def test_the_input_schema_takes_the_new_shapes_and_refuses_what_the_validator_refuses(repo: Path) -> None:
    schema = json.loads((repo / "schemas/jsonschema/diplomatic-event.input.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    joint = {
        "type": "joint_statement",
        "occurred_at": {"at": "2025-02-12", "precision": "day"},
        "location": "Paris",
        "summary": "x",
        "actors": [{"actor_id": "david-lammy", "role": "signatory"}],
        "stances": [
            {
                "actor_id": "david-lammy",
                "issue_id": "kyiv-in-negotiations",
                "position": "support",
                "score": 0.9,
                "basis": "signed it",
            }
        ],
    }
    assert list(validator.iter_errors(joint)) == []
    assert not validator.is_valid({**joint, "occurred_at": "20 February 2025"})
    assert not validator.is_valid({**joint, "type": "tweet"})
    stored = json.loads((repo / "schemas/jsonschema/diplomatic-event.schema.json").read_text())
    assert not jsonschema.Draft202012Validator(stored).is_valid(joint)  # the stored form wants objects
