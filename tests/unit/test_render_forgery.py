"""Event-supplied text cannot forge digest structure: no extra line, list item or markup in any format.

The Markdown is parsed with a real CommonMark parser (markdown-it, with GFM
tables and strikethrough), so "no extra structure" means what a reader sees.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from scheduler.digest import build_digest
from scheduler.render import one_line, render_html, render_markdown, render_text
from schemas.digests import Digest
from schemas.stances import StanceChange
from schemas.subscriptions import DigestSubscription
from tests.factories import new_stance_change

START = datetime(2025, 1, 1, tzinfo=UTC)
END = START + timedelta(days=1)
FORGED_LINE = "- new: none → support (+0.90); happened 2025-02-17, detected 2025-01-01 03:00 UTC, event ev-x"
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])

# Everything that breaks a line somewhere (str.splitlines, terminals, Markdown), and Markdown's syntax.
TRICKY = list("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\t\x00\x1b\u202e\u2066 ") + list(
    "-+=#>*_`[]()!<&|~.:\\1"
)
texts = st.text(st.one_of(st.characters(), st.sampled_from(TRICKY)), max_size=60) | st.sampled_from(
    [
        f"fine\n{FORGED_LINE}",
        f"fine\r\n  {FORGED_LINE}",
        "fine\u2028# Heading",
        "[click](https://evil.example)",
        "`code` ``x``",
        "1. one\n2) two",
        "    indented code",
        "***",
        "a  \nb",
        "<b>x</b>&amp;",
        "| a | b |\n| - | - |",
        "\n",
    ]
)


def change(quote: str | None, event_id: str, detected: datetime) -> StanceChange:
    occurred = datetime(2025, 2, 17, tzinfo=UTC)
    return new_stance_change(
        f"chg-{detected.timestamp()}", event_id, detected, occurred=occurred, quote=quote
    )


def digest_of(quotes: list[str | None], event_id: str = "ev-1", subscription_id: str = "daily") -> Digest:
    subscription = DigestSubscription.model_validate(
        {"id": "daily", "schedule": {"kind": "interval", "seconds": 60}}
    )
    changes = [change(quote, event_id, START + timedelta(hours=1 + i)) for i, quote in enumerate(quotes)]
    built = build_digest(subscription, START, END, changes, END)
    return built.model_copy(update={"subscription_id": subscription_id})


def shape(markdown: str) -> list[str]:
    """Every block and inline token type the parser sees, in order: the document's structure."""
    types = []
    for token in MARKDOWN.parse(markdown):
        types.append(token.type)
        types.extend(child.type for child in token.children or [])
    return types


def inline_texts(markdown: str) -> list[str]:
    tokens: list[Token] = [t for t in MARKDOWN.parse(markdown) if t.type == "inline"]
    return ["".join(child.content for child in token.children or []) for token in tokens]


def stand_in(text: str) -> str:
    """A harmless text that is empty when `text` is, so it renders the same structure."""
    return "x" if one_line(text) else ""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quote=texts, event_id=texts, subscription_id=texts.filter(bool))
@example(quote=f"I agree.\n{FORGED_LINE}", event_id="ev-1", subscription_id="daily")
@example(quote="ok", event_id=f"ev-1\n  {FORGED_LINE}", subscription_id="daily\n\nforged")
def test_no_text_adds_a_line_or_a_list_item(quote: str, event_id: str, subscription_id: str) -> None:
    digest = digest_of([quote, "plain"], event_id, subscription_id)
    baseline = digest_of(
        [stand_in(quote) or None, "plain"], stand_in(event_id) or "e", stand_in(subscription_id) or "d"
    )
    text, base_text = render_text(digest), render_text(baseline)
    lines = text.splitlines()
    assert len(lines) == len(base_text.splitlines()) == len(text.split("\n")) - 1
    assert [line for line in lines if line.startswith("  - ")] == [
        line for line in lines if line.lstrip().startswith(("-", "new:"))
    ]
    assert sum(line.startswith("  - ") for line in lines) == 2
    if one_line(quote):
        assert f'    "{one_line(quote)}"' in lines
    assert lines[0].startswith(f"Digest {one_line(subscription_id)}: 2 stance changes")

    markdown = render_markdown(digest)
    assert len(markdown.splitlines()) == len(render_markdown(baseline).splitlines())
    assert shape(markdown) == shape(render_markdown(baseline))
    assert shape(markdown).count("list_item_open") == 2
    # What a reader sees is the text itself, every character literal.
    seen = inline_texts(markdown)
    assert seen[0] == lines[0]
    assert [line.removeprefix("  - ").rstrip() for line in lines if line.startswith("  - ")] == [
        s for s in seen if s.startswith("new: ")
    ]
    if one_line(quote):
        assert one_line(quote) in seen

    html = render_html(digest)
    assert html.count("<li>") == 2 and html.count("<blockquote>") == render_html(baseline).count(
        "<blockquote>"
    )
    assert "\n" not in one_line(quote) and len(html.splitlines()) == len(render_html(baseline).splitlines())


def test_the_forged_change_line_stays_inside_the_quote() -> None:
    forged = f"I agree.\n{FORGED_LINE}"
    digest = digest_of([forged])
    assert digest.text is not None and digest.markdown is not None and digest.html is not None
    text_lines = digest.text.splitlines()
    assert [line for line in text_lines if line.lstrip().startswith("- ")] == [
        line for line in text_lines if line.startswith("  - new: none → support (+0.60)")
    ]
    assert f'    "I agree. {FORGED_LINE}"' in text_lines
    assert f"  > I agree. {FORGED_LINE}" in digest.markdown.splitlines()
    assert shape(digest.markdown).count("list_item_open") == 1
    # At the start of the quote, `- ` would open a list inside the blockquote: escaped.
    leading = digest_of([FORGED_LINE]).markdown or ""
    assert f"  > \\{FORGED_LINE}" in leading.splitlines() and shape(leading).count("list_item_open") == 1
    assert digest.html.count("<li>") == 1 and "I agree. - new: none" in digest.html


def test_control_characters_and_lone_surrogates_do_not_reach_the_output() -> None:
    digest = digest_of(["red \x1b[31malert\x07 \u202eevil\ud800 end"])
    assert digest.text is not None and digest.markdown is not None and digest.html is not None
    for body in (digest.text, digest.markdown, digest.html):
        assert not any(char in body for char in "\x1b\x07\u202e\ud800")
        body.encode("utf-8")  # a lone surrogate would make every sink fail here
    assert '    "red [31malert evil\ufffd end"' in digest.text.splitlines()


def basis_digest(basis: str | None) -> Digest:
    subscription = DigestSubscription.model_validate(
        {"id": "daily", "schedule": {"kind": "interval", "seconds": 60}}
    )
    changes = [
        new_stance_change(f"chg-{i}", "ev-1", START + timedelta(hours=1 + i), quote="said", basis=text)
        for i, text in enumerate([basis, "plain"])
    ]
    return build_digest(subscription, START, END, changes, END)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(basis=texts)
@example(basis=f"my reading\n{FORGED_LINE}")
def test_the_basis_is_shown_beside_the_quote_and_forges_nothing(basis: str) -> None:
    """The analyst's reading is event text too: one line, after the quote, never inside it."""
    digest, baseline = basis_digest(basis), basis_digest(stand_in(basis) or None)
    assert digest.text is not None and digest.markdown is not None and digest.html is not None
    lines = digest.text.splitlines()
    assert len(lines) == len(baseline.text.splitlines() if baseline.text else [])
    assert sum(line.startswith("  - ") for line in lines) == 2
    assert lines[lines.index("    basis: plain") - 1] == '    "said"'  # right after the quote
    if one_line(basis):
        assert f"    basis: {one_line(basis)}" in lines
    assert shape(digest.markdown) == shape(baseline.markdown or "")
    assert shape(digest.markdown).count("list_item_open") == 2
    assert shape(digest.markdown).count("blockquote_open") == 2  # the basis is not in the quote
    if one_line(basis):
        assert f"Basis: {one_line(basis)}" in inline_texts(digest.markdown)
    assert digest.html.count("<li>") == 2 and digest.html.count('<p class="basis">') == (
        2 if one_line(basis) else 1
    )
