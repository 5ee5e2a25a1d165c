"""Errors a user can act on (issue 15): every problem of a line, the right hint for each time
form, suggestions only where something is close, long lists summarised, and a broken registry
reported one line per problem with its own exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from schemas import Registry, UnknownReferenceError, parse_event
from schemas.events import EventRejected
from schemas.problems import summarise
from streams.cli.entry import main
from streams.cli.root import EXIT_REGISTRY
from streams.registry_files import RegistryFileError, load_registry
from streams.settings import Settings


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def rejected(document: dict[str, Any]) -> str:
    with pytest.raises(EventRejected) as caught:
        parse_event(document)
    return caught.value.message


def unknown(registry: Registry, **event: Any) -> str:
    document = {"type": "statement", "occurred_at": "2025-02-20", "summary": "x", **event}
    with pytest.raises(UnknownReferenceError) as caught:
        registry.canonicalize(parse_event(document))
    return str(caught.value)


def test_an_unknown_type_is_reported_first_then_the_rest_as_the_closest_type() -> None:
    message = rejected(
        {
            "type": "joint statment",
            "occurred_at": "2025-02-20",
            "summary": "x",
            "actors": [{"actor_id": "a", "role": "speakr"}],
            "stances": [{"actor_id": "a", "issue_id": "i", "position": "support", "score": 3}],
        }
    )
    problems = message.split("; ")
    assert problems[0].startswith("type: unknown event type 'joint statment': use one of 'statement'")
    assert "(the rest is checked as a 'joint_statement')" in problems[0]
    assert any(p.startswith("actors.0.role: Input should be") for p in problems)
    assert any(p.startswith("stances.0.score: Input should be less than or equal to 1") for p in problems)
    assert rejected({"occurred_at": "2025", "summary": "x"}).startswith("type: missing: use one of")


@pytest.mark.parametrize(
    ("occurred_at", "hint"),
    [
        ("2025-02-20T10:00:00", "has no time zone: add 'Z'"),
        ("20 February 2025", "write a year ('2025'), a month ('2025-02'), a day ('2025-02-20')"),
        ("2025-13", "not a real date: month must be in 1..12"),
        (
            {"at": "2025-02-12T10:00:00", "precision": "minute"},
            "if only the day is known, give precision 'day'",
        ),
        ({"at": "2025-02-12", "precision": "minute"}, "gives only the day, but precision is 'minute'"),
    ],
)
def test_each_time_form_gets_its_own_hint(occurred_at: Any, hint: str) -> None:
    message = rejected({"type": "statement", "occurred_at": occurred_at, "summary": "x"})
    assert message.startswith("occurred_at: ") and hint in message and "Value error" not in message


def test_a_short_code_is_not_mistaken_for_another(registry: Registry) -> None:
    message = unknown(registry, actors=[{"actor_id": "deu", "role": "speaker"}])
    assert "unknown actor 'deu'" in message and "did you mean" not in message
    assert "timeline actors add ID" in message  # how to add it
    assert "member of eu but not registered" in message


def test_suggestions_come_from_ids_names_and_aliases(registry: Registry) -> None:
    assert "did you mean keir-starmer?" in unknown(
        registry, actors=[{"actor_id": "keir-starmr", "role": "speaker"}]
    )
    by_alias = unknown(registry, actors=[{"actor_id": "Sir Kier", "role": "speaker"}])
    assert "did you mean keir-starmer (Sir Keir)?" in by_alias
    assert "did you mean" not in unknown(registry, actors=[{"actor_id": "Nobody Known", "role": "speaker"}])


def test_unknown_issues_get_hints_too(registry: Registry) -> None:
    claim = {"actor_id": "keir-starmer", "position": "support", "score": 0.5}
    close = unknown(registry, stances=[{**claim, "issue_id": "us-backstp"}])
    assert "unknown issue 'us-backstp' (did you mean us-backstop?)" in close
    far = unknown(registry, stances=[{**claim, "issue_id": "moon-base"}])
    assert "did you mean" not in far and "timeline actors add ID" in far


def test_a_long_list_shows_the_first_few_then_counts_the_rest(registry: Registry) -> None:
    leaders = [{"actor_id": f"leader-{number}", "role": "signatory"} for number in range(303)]
    message = unknown(registry, actors=leaders)
    assert message.count("unknown actor") == 5 and "and 298 more of the same kind" in message
    assert len(message) < 600
    mixed = summarise([f"a.{n}: unknown actor 'x{n}'" for n in range(5)] + ["b: Field required"] * 3)
    assert mixed.endswith("and 3 more: 3 Field required")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_registry_problems_are_one_line_each_naming_the_file_and_the_entry(tmp_path: Path) -> None:
    entries = write(
        tmp_path,
        "entries.yaml",
        "actors:\n  - {id: Kaja Kallas, name: Kaja Kallas, kind: person}\n"
        "  - {id: ok, name: OK, kind: state, country: deu}\nissues:\n  - {id: x}\n",
    )
    broken = write(tmp_path, "broken.yaml", "actors:\n  - {id: x, name: [unclosed\n")
    with pytest.raises(RegistryFileError) as caught:
        load_registry([entries, broken, tmp_path / "missing.yaml"])
    problems = caught.value.problems
    assert all("\n" not in problem for problem in problems)
    assert (
        f"registry file {entries}: actors entry 1 'Kaja Kallas': id: 'Kaja Kallas' should be an id"
        in problems[1]
    )
    assert any(f"{entries}: actors entry 2 'ok': country: 'deu' should be an ISO" in p for p in problems)
    assert any(f"{entries}: issues entry 1 'x': title: Field required" in p for p in problems)
    assert any(f"registry file {broken}: not valid YAML at line 3" in p for p in problems)
    assert problems[0] == f"registry file {tmp_path / 'missing.yaml'}: No such file or directory"


def test_a_broken_registry_has_its_own_exit_code(tmp_path: Path, repo: Path) -> None:
    broken = write(tmp_path, "broken.yaml", "actors: [{id: Not A Slug, name: x, kind: person}]\n")
    # Files feed the registry topic (`registry load`, `up`), checked before Kafka is asked.
    result = CliRunner().invoke(main, ["registry", "load", str(broken)])
    assert result.exit_code == EXIT_REGISTRY == 5
    assert "Traceback" not in result.output
    assert f"error: registry file {broken}: actors entry 1 'Not A Slug'" in result.output


@pytest.mark.parametrize("form", ["plain", "colons", "json"])
def test_registry_files_may_be_a_path_a_colon_list_or_json(
    tmp_path: Path, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write(tmp_path, "a.yaml", "actors: [{id: kaja-kallas, name: Kaja Kallas, kind: person}]\n")
    second = write(tmp_path, "b.yaml", "issues: [{id: moon-base, title: A base on the moon}]\n")
    value = {"plain": str(first), "colons": f"{first}:{second}", "json": f'["{first}", "{second}"]'}[form]
    monkeypatch.setenv("TIMELINE_REGISTRY_FILES", value)
    settings = Settings()
    assert settings.registry_files == ([first] if form == "plain" else [first, second])
    monkeypatch.setenv("TIMELINE_REGISTRY_FILES", settings.environment()["TIMELINE_REGISTRY_FILES"])
    assert Settings().registry_files == settings.registry_files  # what a child process reads back


def test_an_unreadable_setting_is_one_line_not_a_traceback() -> None:
    result = CliRunner().invoke(main, ["publish", "--dry-run", "-"], env={"TIMELINE_BROKER_PORT": "nine"})
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith("error: TIMELINE_BROKER_PORT: Input should be a valid integer")
