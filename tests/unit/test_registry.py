"""Actors and issues: the bundled registry, aliases, and a user's own file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from schemas import Registry, UnknownReferenceError, parse_event
from streams.registry_files import RegistryFileError, load_registry


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def test_bundled_registry_has_the_seed_actors_and_issues(registry: Registry) -> None:
    for actor_id in ["keir-starmer", "donald-trump", "emmanuel-macron", "wang-yi", "justin-trudeau"]:
        assert actor_id in registry.actors
    for issue_id in [
        "ukraine-security-guarantees",
        "us-backstop",
        "european-peacekeepers",
        "us-russia-direct-talks",
        "kyiv-in-negotiations",
    ]:
        assert issue_id in registry.issues


def test_aliases_resolve_to_ids(registry: Registry) -> None:
    assert registry.resolve_actor("Sir Keir") == "keir-starmer"
    assert registry.resolve_actor("sir keir") == "keir-starmer"
    assert registry.resolve_actor("Keir Starmer") == "keir-starmer"
    assert registry.resolve_actor("keir-starmer") == "keir-starmer"


def test_a_context_alias_needs_its_context(registry: Registry) -> None:
    assert registry.resolve_actor("the Prime Minister", "GBR") == "keir-starmer"
    with pytest.raises(UnknownReferenceError):
        registry.resolve_actor("the Prime Minister")


def test_unknown_actor_suggests_close_ids(registry: Registry) -> None:
    with pytest.raises(UnknownReferenceError, match="did you mean keir-starmer"):
        registry.resolve_actor("keir-starmr")


def test_trudeau_role_ends_on_2025_03_14(registry: Registry) -> None:
    trudeau = registry.actors["justin-trudeau"]
    prime_minister = [role for role in trudeau.roles if "Prime Minister" in role.title]
    assert prime_minister and prime_minister[0].end == date(2025, 3, 14)
    assert trudeau.roles_on(date(2025, 2, 20)) and not any(
        "Prime Minister" in role.title for role in trudeau.roles_on(date(2025, 3, 15))
    )


def test_canonicalize_resolves_every_reference_and_lists_every_problem(registry: Registry) -> None:
    event = parse_event(
        {
            "type": "statement",
            "occurred_at": "2025-02-20",
            "summary": "x",
            "location": {"name": "London", "country": "GBR"},
            "actors": [{"actor_id": "the Prime Minister", "role": "speaker"}],
            "stances": [
                {"actor_id": "Sir Keir", "issue_id": "us-backstop", "position": "support", "score": 0.8}
            ],
        }
    )
    canonical = registry.canonicalize(event)
    assert canonical.actors[0].actor_id == "keir-starmer"
    assert canonical.stances[0].actor_id == "keir-starmer"

    bad = parse_event(
        {
            "type": "statement",
            "occurred_at": "2025-02-20",
            "summary": "x",
            "actors": [{"actor_id": "Nobody Known", "role": "speaker"}],
            "stances": [
                {"actor_id": "keir-starmer", "issue_id": "moon-base", "position": "support", "score": 0.8}
            ],
        }
    )
    with pytest.raises(UnknownReferenceError) as caught:
        registry.canonicalize(bad)
    assert len(caught.value.problems) == 2
    assert caught.value.problems[0].startswith("actors.0.actor_id: unknown actor 'Nobody Known'")
    assert caught.value.problems[1].startswith("stances.0.issue_id: unknown issue 'moon-base'")


def test_a_user_file_extends_and_overrides_the_registry(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "actors:\n"
        "  - {id: mark-rutte, name: Mark Rutte, kind: person, country: NLD,"
        " aliases: [NATO chief]}\n"
        "issues:\n"
        "  - {id: us-backstop, title: A US backstop (my wording)}\n"
    )
    registry = load_registry([extra])
    assert registry.resolve_actor("NATO chief") == "mark-rutte"
    assert registry.issues["us-backstop"].title == "A US backstop (my wording)"
    assert "keir-starmer" in registry.actors


def test_a_broken_user_file_is_a_clear_error(tmp_path: Path) -> None:
    extra = tmp_path / "broken.yaml"
    extra.write_text("actors:\n  - {id: Not A Slug, name: x, kind: person}\n")
    with pytest.raises(RegistryFileError, match="registry"):
        load_registry([extra])
    with pytest.raises(RegistryFileError, match="No such file"):
        load_registry([tmp_path / "missing.yaml"])
