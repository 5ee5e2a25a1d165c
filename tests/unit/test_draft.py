"""`timeline draft`: draft events from the seed article, offline, and a publisher that refuses
them until `timeline draft accept` has removed the markers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from schemas.issues import Issue
from streams.cli.entry import main
from streams.clients.author import DEFAULT_MAX_EVENT_BYTES, InvalidEventError, prepare_event
from streams.drafting.compose import draft_events
from streams.drafting.dates import find_date
from streams.drafting.marker import DRAFT_KEY, accept_lines, is_draft
from streams.registry_files import load_registry

DATA = Path(__file__).resolve().parents[1] / "data"
ARTICLE = DATA / "seed-article.txt"
PUBLISHED = date(2025, 2, 21)  # a Friday
NOW = datetime(2025, 3, 1, tzinfo=UTC)


def drafted_lines(tmp_path: Path) -> list[bytes]:
    out = tmp_path / "draft.jsonl"
    arguments = ["draft", str(ARTICLE), "--published", "2025-02-21", "--outlet", "BBC News", "--offline"]
    result = CliRunner().invoke(main, [*arguments, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return [line for line in out.read_bytes().splitlines() if line.strip()]


def test_the_seed_article_drafts_events_with_their_evidence(tmp_path: Path) -> None:
    events = [orjson.loads(line) for line in drafted_lines(tmp_path)]
    assert len(events) >= 10
    assert all(DRAFT_KEY in event and event["draft"]["note"] for event in events)
    quotes = {(quote["actor_id"], quote["text"]) for event in events for quote in event["quotes"]}
    assert ("keir-starmer", "the only way to effectively deter Russia") in quotes
    assert ("wang-yi", "all efforts conducive to peace") in quotes
    days = {(event["type"], event["occurred_at"]["at"]) for event in events}
    assert ("visit", "2025-02-27") in days  # "next Thursday"
    macron = next(e for e in events if e["occurred_at"]["at"] == "2025-02-24")  # "on Monday"
    assert macron["draft"]["date"]["words"] == "on Monday"
    claims = [claim for event in events for claim in event["stances"]]
    assert claims and all(claim["confidence"] <= 0.3 and claim["basis"] for claim in claims)


def test_the_cli_reads_standard_input() -> None:
    text = "Prime Minister Sir Keir Starmer said yesterday that he backs a US backstop."
    result = CliRunner().invoke(main, ["draft", "-", "--published", "2025-02-21", "--offline"], input=text)
    assert result.exit_code == 0, result.output
    event = orjson.loads(result.stdout.splitlines()[0])
    assert event["occurred_at"] == {"at": "2025-02-20", "precision": "day"}
    assert event["stances"][0]["issue_id"] == "us-backstop"


def test_the_publisher_refuses_a_draft_line_until_it_is_accepted(tmp_path: Path) -> None:
    registry = load_registry()
    lines = drafted_lines(tmp_path)
    with pytest.raises(InvalidEventError) as refused:
        prepare_event(lines[0], registry, DEFAULT_MAX_EVENT_BYTES, now=lambda: NOW, line=1)
    assert refused.value.reason == "draft"
    assert "timeline draft accept" in str(refused.value)
    accepted = list(accept_lines(lines))
    assert not any(is_draft(line) for line in accepted)
    for line in accepted:
        prepare_event(line, registry, DEFAULT_MAX_EVENT_BYTES, now=lambda: NOW)


def test_draft_accept_writes_publishable_lines(tmp_path: Path) -> None:
    draft = tmp_path / "draft.jsonl"
    draft.write_bytes(b"\n".join(drafted_lines(tmp_path)) + b"\n")
    result = CliRunner().invoke(main, ["draft", "accept", str(draft)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() and b'"draft"' not in result.stdout.encode()


def test_an_unknown_person_is_proposed_with_the_command_to_add_them() -> None:
    text = 'German Foreign Minister Johann Wadephul said on Monday that Berlin "will not waver".'
    events, proposals = draft_events(text, PUBLISHED, load_registry())
    assert [proposal.command() for proposal in proposals] == [
        'timeline actors add johann-wadephul --name "Johann Wadephul" --kind person --country DEU'
    ]
    # no registered state stands in for him (DEU is not registered): no draft holds an unknown id
    assert events == []
    text = 'Ukrainian Foreign Minister Andrii Sybiha said on Monday that Kyiv "will not waver".'
    [event], _ = draft_events(text, PUBLISHED, load_registry())
    assert event["quotes"] == [{"actor_id": "ukr", "text": "will not waver"}]
    assert event["occurred_at"]["at"] == "2025-02-17"  # past verb: the Monday before
    assert event["draft"]["proposed_actors"][0]["id"] == "andrii-sybiha"


@pytest.mark.parametrize(
    ("words", "day", "precision"),
    [
        ("will meet Trump on Monday", "2025-02-24", "day"),
        ("spoke on Monday", "2025-02-17", "day"),
        ("is to visit next Thursday", "2025-02-27", "day"),
        ("said yesterday", "2025-02-20", "day"),
        ("on 12 February", "2025-02-12", "day"),
        ("on February 12, 2024", "2024-02-12", "day"),
        ("in recent days", "2025-02-01", "month"),
    ],
)
def test_dates_resolve_against_the_publication_day(words: str, day: str, precision: str) -> None:
    found = find_date(words, PUBLISHED)
    assert found is not None
    assert (found.day.isoformat(), found.precision) == (day, precision)


def test_issue_keywords_are_optional_and_absent_from_the_json_when_empty() -> None:
    assert Issue.model_validate({"id": "a", "title": "A"}).model_dump_json() == (
        '{"id":"a","title":"A","description":null}'
    )
    assert load_registry().issues["us-backstop"].keywords


def test_the_drafting_bench_runs_and_writes_its_figures(tmp_path: Path) -> None:
    from bench.drafting import KEYS, run

    data = tmp_path / "data"
    data.mkdir()
    for name in ("seed-article.txt", "seed-article.expected.jsonl"):
        (data / name).write_bytes((DATA / name).read_bytes())
    out = tmp_path / "drafting.json"
    report = run(data, out)
    written = orjson.loads(out.read_bytes())
    assert set(KEYS) <= set(written) and set(KEYS) <= set(written["articles"]["seed-article"])
    assert report["articles"].keys() == {"seed-article"}
