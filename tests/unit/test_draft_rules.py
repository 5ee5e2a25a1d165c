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


def test_a_day_counted_from_the_narrative_counts_from_the_day_given_before(registry: Registry) -> None:
    text = (
        "Macron met Trump in Paris on February 10.\n"
        "Three days later, on Thursday, Starmer said he backs a US backstop. He also called for talks.\n"
        "The following day, Lavrov said Moscow rejected any backstop."
    )
    _, starmer, lavrov, *_ = drafts(text, registry)
    assert starmer["occurred_at"]["at"] == "2025-02-13"  # not the Thursday after publication
    assert "from the day the text gave" in starmer["draft"]["date"]["rule"]
    assert lavrov["occurred_at"]["at"] == "2025-02-14"
    assert find_date("met two days later", FRIDAY) is None  # no day before it to count from
    assert find_date("that evening", FRIDAY, date(2025, 2, 3)).day == date(2025, 2, 3)  # type: ignore[union-attr]
    past = find_date("Trump spoke later on Tuesday", FRIDAY)  # "later" that day is no future verb
    assert past is not None and past.day == date(2025, 2, 18)


def test_a_sentence_without_a_day_keeps_its_paragraph_s_day(registry: Registry) -> None:
    events = drafts("Macron spoke to Trump on Tuesday. Starmer said he backs a US backstop.", registry)
    assert [event["occurred_at"]["at"] for event in events] == ["2025-02-18", "2025-02-18"]


def test_he_said_and_and_that_keep_a_person_s_words_their_own(registry: Registry) -> None:
    text = (
        'Starmer told the leaders that Europe must act and that Britain would send "planes and ships." '
        'The UK, he said, was ready to "do its part."'
    )
    found = quotes(drafts(text, registry))
    assert {("keir-starmer", "planes and ships"), ("keir-starmer", "do its part")} <= found


def test_an_organisation_s_text_is_its_own_not_a_person_s_near_it(registry: Registry) -> None:
    text = (
        "In Geneva yesterday, NATO ministers, with Zelensky present, signed a declaration on Ukraine.\n"
        "It said any peace must respect the sovereignty of Ukraine."
    )
    [joint] = drafts(text, registry)
    assert joint["type"] == "joint_statement" and joint["actors"][0] == {
        "actor_id": "nato",
        "role": "signatory",
    }
    assert ("nato", "ukraine-sovereignty", "support") in claims([joint])
    assert not any(holder == "volodymyr-zelensky" for holder, _, _ in claims([joint]))


def test_the_two_delegations_of_a_meeting_sign_its_joint_statement(registry: Registry) -> None:
    text = "Rubio met Lavrov on Monday, and the two delegations issued a joint statement."
    joint = drafts(text, registry)[-1]
    assert {a["actor_id"] for a in joint["actors"] if a["role"] == "signatory"} == {"usa", "rus"}


def test_a_draft_holds_only_registered_ids(registry: Registry) -> None:
    text = (
        "Rubio, accompanied by adviser Jane Doe, met Kremlin policy aide Ivan Petrov on Monday.\n"
        'Dutch Prime Minister Piet Jansen said the plan was "not enough."'
    )
    events, proposals = draft_events(text, FRIDAY, registry)
    assert {p.actor_id for p in proposals} == {"jane-doe", "ivan-petrov", "piet-jansen"}
    assert all(actor_id in registry.actors for event in events for actor_id in actors(event))
    assert all(quote["actor_id"] in registry.actors for event in events for quote in event["quotes"])
    assert "rus" in actors(events[0])  # the Kremlin stands in for its aide
    assert len(events) == 1  # no draft speaks for an unknown person no registered state stands in for
    [proposed] = [item for item in events[0]["draft"]["actors"] if item["words"].endswith("Jane Doe")]
    assert proposed["proposed"] and proposed["actor_id"] == "jane-doe"


def test_unnamed_officials_of_a_state_make_it_a_party(registry: Registry) -> None:
    [meeting] = drafts("Senior American and Russian officials met in Geneva on Monday.", registry)
    assert meeting["type"] == "meeting" and {"usa", "rus"} <= actors(meeting)
    [carter] = drafts("According to former British forces chief Nick Carter, talks must go on.", registry)
    assert carter["actors"][0]["actor_id"] == "nick-carter"  # "forces chief" is his title


def test_a_visit_to_a_state_is_hosted_by_it_and_gathering_leaders_is_a_meeting(registry: Registry) -> None:
    [visit] = drafts("Macron is due in Saudi Arabia on Monday.", registry)
    assert visit["type"] == "visit" and {"actor_id": "sau", "role": "host"} in visit["actors"]
    assert kind_of("Starmer gathered some 20 leaders in London")[0] == "meeting"
    assert kind_of("The summit was convened by Macron")[0] == "meeting"


def test_pausing_aid_opposes_it_and_a_keyword_s_preposition_is_the_verb_s(registry: Registry) -> None:
    patterns = issue_patterns(registry.issues)
    [paused] = read_clause("Trump ordered a pause in military aid", patterns)
    assert (paused.issue_id, paused.position) == ("ukraine-support", "oppose")
    [table] = read_clause("Ukraine was ready to come to the negotiating table", patterns)
    assert (table.issue_id, table.position) == ("kyiv-in-negotiations", "support")


def test_a_wire_dateline_may_shorten_its_month(registry: Registry) -> None:
    text = "GENEVA, Switzerland, Feb. 19 — Lavrov said yesterday that Moscow rejected a backstop."
    assert reference_day(text, FRIDAY) == date(2025, 2, 19)
    [event] = drafts(text, registry)
    assert event["occurred_at"]["at"] == "2025-02-18" and event["actors"][0]["actor_id"] == "sergey-lavrov"
    assert find_date("on Sept. 3, 2024", FRIDAY).day == date(2024, 9, 3)  # type: ignore[union-attr]


def test_officials_meeting_and_their_minister_s_hours_with_another_are_one_meeting(
    registry: Registry,
) -> None:
    text = (
        "American and Russian officials met on Monday.\nRubio spent some three hours with Lavrov at a palace."
    )
    [meeting] = drafts(text, registry)
    assert {"usa", "rus", "marco-rubio", "sergey-lavrov"} <= actors(meeting)


def test_a_state_holds_the_view_it_is_said_to_see_and_a_person_s_state_is_no_party(
    registry: Registry,
) -> None:
    text = "Lavrov said Moscow saw no room for European troops. Canada's Justin Trudeau met Macron."
    lavrov, meeting = drafts(text, registry)
    assert ("rus", "european-peacekeepers", "oppose") in claims([lavrov])
    assert "can" not in actors(meeting)


def test_both_leaders_are_the_people_of_the_last_call_held(registry: Registry) -> None:
    text = (
        "Macron spoke by phone with Putin on Monday. He said he would speak with Trump tomorrow.\n"
        "The Kremlin said the two presidents had agreed to meet, and troops deployed in Ukraine must go."
    )
    _, planned, kremlin = drafts(text, registry)
    assert planned["type"] == "call" and planned["status"] == "planned"  # "he would speak with"
    assert {"emmanuel-macron", "vladimir-putin"} <= actors(kremlin) and "donald-trump" not in actors(kremlin)
    assert "location" not in kremlin and "ukr" in actors(kremlin)  # "deployed in Ukraine" is about it


def test_a_royal_title_and_a_particle_belong_to_the_proposed_name(registry: Registry) -> None:
    _, proposals = draft_events("Saudi Foreign Minister Prince Faisal bin Farhan said so.", FRIDAY, registry)
    assert [p.actor_id for p in proposals] == ["faisal-bin-farhan"]
