"""The drafter's rules one at a time, on short texts in the general language of news reports
(none taken from the test articles): datelines, speakers, places, unknown people, clauses,
occasions, conditions, context aliases, and where `timeline draft` takes its registry from."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from schemas.registry import Registry
from streams.cli import draft as draft_cli
from streams.cli.entry import main
from streams.drafting.compose import draft_events, reference_day
from streams.drafting.dates import find_date
from streams.drafting.kinds import kind_of
from streams.drafting.stances import issue_patterns, read_clause
from streams.drafting.text import clauses_of, dateline_of, quotes_in, read_text
from streams.registry_files import load_registry

FRIDAY = date(2025, 2, 21)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def drafts(text: str, registry: Registry, published: date = FRIDAY) -> list[dict[str, Any]]:
    return draft_events(text, published, registry)[0]


def actors(event: dict[str, Any]) -> set[str]:
    return {actor["actor_id"] for actor in event["actors"]}


def quotes(events: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(quote["actor_id"], quote["text"]) for event in events for quote in event["quotes"]}


def claims(events: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(c["actor_id"], c["issue_id"], c["position"]) for event in events for c in event["stances"]}


def test_a_dateline_is_read_and_left_out_of_the_text() -> None:
    found = dateline_of("KYIV, Ukraine, March 3 (Reuters) - Officials said ...")
    assert found is not None and (found.place, found.day, found.agency) == (
        "KYIV, Ukraine",
        "March 3",
        "Reuters",
    )
    assert dateline_of("LONDON (AP) — The talks") is not None
    assert dateline_of("The UK and France said - in a statement") is None
    assert read_text("BERLIN, 4 March (dpa) - Talks began.")[0].text == "Talks began."


def test_relative_days_count_from_the_dateline(registry: Registry) -> None:
    text = "ROME, February 19 (AP) - Prime Minister Sir Keir Starmer said yesterday that he backs a backstop."
    assert reference_day(text, FRIDAY) == date(2025, 2, 19)
    [event] = drafts(text, registry)
    assert event["occurred_at"] == {"at": "2025-02-18", "precision": "day"}  # not the dateline's day
    assert reference_day("ROME, December 31 (AP) - x", date(2026, 1, 1)) == date(2025, 12, 31)


@pytest.mark.parametrize(
    ("words", "day", "precision"),
    [
        ("will speak later on Friday", "2025-02-21", "day"),  # the day's own weekday is that day
        ("said on Friday", "2025-02-21", "day"),
        ("met three days ago", "2025-02-18", "day"),
        ("talks last month", "2025-01-01", "month"),
    ],
)
def test_more_forms_of_dates(words: str, day: str, precision: str) -> None:
    found = find_date(words, FRIDAY)
    assert found is not None and (found.day.isoformat(), found.precision) == (day, precision)


def test_the_name_before_a_verb_of_speech_is_the_speaker(registry: Registry) -> None:
    text = 'Trump spoke to Macron. In a statement, the White House said the talks were "constructive."'
    assert ("usa", "constructive") in quotes(drafts(text, registry))
    text = 'Zelensky met Macron. Trump, speaking in Florida, said it was "a disgrace."'
    assert ("donald-trump", "a disgrace") in quotes(drafts(text, registry))


def test_a_state_after_in_is_a_place_unless_a_noun_holds_it(registry: Registry) -> None:
    [event] = drafts('In Moscow, Lavrov said the war in Ukraine was "far from over."', registry)
    assert event["location"] == {"name": "Moscow", "country": "RUS"}
    assert "ukr" in actors(event) and "rus" not in actors(event)
    assert ("sergey-lavrov", "far from over") in quotes([event])
    [at_summit] = drafts(
        "Wang Yi, speaking at the G20 summit in South Africa, said peace mattered.", registry
    )
    assert at_summit["location"]["country"] == "ZAF"
    [talked_of] = drafts("Lavrov said a meeting in Saudi Arabia was possible.", registry)
    assert "sau" in actors(talked_of)


def test_an_unknown_official_is_found_by_surname_and_their_state_stands_in(registry: Registry) -> None:
    text = (
        "Ukrainian Defence Minister Rustem Umerov met Lammy. "
        "Umerov said Ukraine was committed to territorial integrity."
    )
    events, proposals = draft_events(text, FRIDAY, registry)
    assert [p.actor_id for p in proposals] == ["rustem-umerov"]
    statement = events[-1]
    assert statement["actors"][0] == {"actor_id": "ukr", "role": "speaker"}
    assert ("ukr", "ukraine-sovereignty", "support") in claims([statement])
    evidence = statement["draft"]["actors"][0]
    assert evidence["stands_in_for"] == "rustem-umerov" and evidence["proposed"]
    assert statement["draft"]["proposed_actors"][0]["id"] == "rustem-umerov"
    [nato] = drafts("NATO Secretary General Jens Stoltenberg said allies stood firm.", registry)
    assert actors(nato) == {"nato"}


def test_both_states_of_a_paired_name_take_part_and_unnamed_officials_speak_for_no_one(
    registry: Registry,
) -> None:
    text = (
        "Macron spoke to Trump. Officials said a new round of Russia-Ukraine talks will take place on Monday."
    )
    talks = drafts(text, registry)[-1]
    assert talks["type"] == "meeting" and actors(talks) == {"rus", "ukr"}
    assert talks["occurred_at"]["at"] == "2025-02-24"


def test_clauses_split_at_a_second_subject_and_a_second_that() -> None:
    sentence = "Starmer met Macron on Monday, and the two leaders issued a statement."
    assert [c.text_of(sentence) for c in clauses_of(sentence, [])] == [
        "Starmer met Macron on Monday",
        "the two leaders issued a statement.",
    ]
    sentence = "Trump said the call went well and that he would meet Putin."
    assert len(clauses_of(sentence, [])) == 2
    listed = "France, Germany, and the UK backed the plan."
    assert len(clauses_of(listed, [])) == 1  # a list of names is one subject
    sentence = "Macron said on Monday that troops would go, speaking at a press conference in Paris."
    assert len(clauses_of(sentence, [])) == 2


def test_a_clause_keeps_the_day_of_the_main_clause_before_it(registry: Registry) -> None:
    text = "Lammy met Rubio on Tuesday, and the two ministers issued a joint statement."
    meeting, joint = drafts(text, registry)
    assert (meeting["type"], joint["type"]) == ("meeting", "joint_statement")
    assert meeting["occurred_at"] == joint["occurred_at"] == {"at": "2025-02-18", "precision": "day"}


def test_an_occasion_named_before_gives_its_day_and_gathers_who_attended(registry: Registry) -> None:
    text = (
        "Macron said on Thursday that Europe would act, speaking after a summit in Paris.\n"
        "Starmer told the same summit that sanctions would stay.\n"
        "Zelensky, who attended the summit, thanked the leaders."
    )
    events = drafts(text, registry)
    summit = next(event for event in events if event["type"] == "meeting")
    assert {"emmanuel-macron", "volodymyr-zelensky"} <= actors(summit)
    starmer = next(event for event in events if event["actors"][0]["actor_id"] == "keir-starmer")
    assert starmer["occurred_at"]["at"] == "2025-02-20"
    assert "occasion" in starmer["draft"]["date"]["rule"]


def test_the_next_paragraph_and_a_quotation_running_over_go_on_with_the_speaker(registry: Registry) -> None:
    text = (
        'Starmer said on Monday that "we will stand firm.\n'
        '"We will not waver either," he added.\n'
        '"Nor will we," Starmer said.'
    )
    [event] = drafts(text, registry)
    assert len(event["quotes"]) == 3 and event["occurred_at"]["at"] == "2025-02-17"
    assert quotes_in('He said: "It goes on') == quotes_in('He said: "It goes on')[:1]


def test_talks_a_stance_is_about_are_no_meeting() -> None:
    assert kind_of("He did not rule out further talks with Beijing")[0] == "statement"
    assert kind_of("He held talks with Beijing")[0] == "meeting"
    assert kind_of("A summit will be held in Rome, officials said")[0] == "meeting"
    assert kind_of("Trump spoke by phone with Putin")[0] == "call"
    assert kind_of("Trump spoke to reporters")[0] == "statement"
    assert kind_of("He will host the leaders")[0] == "meeting"


def test_a_condition_makes_the_offer_conditional_and_the_condition_wanted(registry: Registry) -> None:
    text = "Lammy said the UK was ready to send peacekeepers, but only with a US backstop."
    found = claims(drafts(text, registry))
    assert ("david-lammy", "european-peacekeepers", "conditional") in found
    assert ("gbr", "european-peacekeepers", "conditional") in found  # "the UK was ready"
    assert ("david-lammy", "us-backstop", "support") in found
    patterns = issue_patterns(registry.issues)
    assert read_clause("any deal must end military aid", patterns)[0].position == "oppose"


def test_the_inner_speaker_and_the_speaker_s_own_state_hold_the_claim(registry: Registry) -> None:
    found = claims(
        drafts("The Kremlin said Putin had told Macron that any deal must end military aid.", registry)
    )
    assert {("rus", "ukraine-support", "oppose"), ("vladimir-putin", "ukraine-support", "oppose")} <= found
    own = claims(drafts("Zelensky said Ukraine must be at the negotiating table.", registry))
    assert ("ukr", "kyiv-in-negotiations", "support") in own
    other = claims(drafts("Macron said Ukraine must be at the negotiating table.", registry))
    assert not any(holder == "ukr" for holder, _, _ in other)  # another's state: the speaker's claim


def test_context_aliases_apply_where_the_sentence_or_the_dateline_is(registry: Registry) -> None:
    [event] = drafts("In Britain, the Prime Minister said talks must go on.", registry)
    assert "keir-starmer" in actors(event)
    [event] = drafts("WASHINGTON (AP) - The President said he backs talks with Russia.", registry)
    assert event["actors"][0]["actor_id"] == "donald-trump"
    assert event["draft"]["actors"][0]["words"] == "President"
    [titled] = drafts("WASHINGTON (AP) - President Emmanuel Macron said he backs talks.", registry)
    assert actors(titled) == {"emmanuel-macron"}  # a title before another's name is no alias
    [no_context] = drafts("The President said he backs talks with Russia.", registry)
    assert "donald-trump" not in actors(no_context)  # with no place, "the President" is no one


def test_draft_falls_back_to_the_files_at_once_without_a_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMELINE_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    text = "Sir Keir Starmer said yesterday that he backs a US backstop."
    result = CliRunner().invoke(main, ["draft", "-", "--published", "2025-02-21"], input=text)
    assert result.exit_code == 0, result.output
    assert "registry: the bundled registry files" in result.stderr and "no registry topic" in result.stderr
    assert orjson.loads(result.stdout.splitlines()[0])["actors"][0]["actor_id"] == "keir-starmer"


def test_draft_reads_the_registry_topic_when_a_broker_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = load_registry()
    renamed = bundled.actors["keir-starmer"].model_copy(update={"aliases": [], "name": "Keir Rodney Starmer"})
    topic = Registry(actors={"keir-starmer": renamed}, issues=bundled.issues)

    async def from_topic(settings: Any) -> Registry:
        return topic

    monkeypatch.setattr(draft_cli, "_topic_registry", from_topic)
    text = "Keir Rodney Starmer said he backs a US backstop."
    result = CliRunner().invoke(main, ["draft", "-", "--published", "2025-02-21"], input=text)
    assert result.exit_code == 0, result.output
    assert "registry: the topic" in result.stderr
    assert orjson.loads(result.stdout.splitlines()[0])["actors"][0]["actor_id"] == "keir-starmer"
    offline = CliRunner().invoke(main, ["draft", "-", "--published", "2025-02-21", "--offline"], input=text)
    assert "(--offline)" in offline.stderr
