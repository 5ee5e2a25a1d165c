"""Digest rendering as text, Markdown and HTML. Pure.

Event-supplied text (ids, quotes) is made one line first: line breaks, control
and bidi characters become one space, so it can never start a line of its own.
Markdown then backslash-escapes every character that opens inline markup
(backslash, backtick, `*_{}[]<>#|~&`) and a leading `-`, `+`, `=` or `1.`/`1)`
(a list item once it follows the `> ` of a quote); HTML escapes it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from html import escape

from schemas.digests import Digest
from schemas.stances import Stance, StanceChange

# Bidi embeddings, overrides and isolates: they reorder what a reader sees.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_MARKDOWN_INLINE = frozenset("\\`*_{}[]<>#|~&")
# What may open a block at the start of a line: a list item (`-`, `+`, `1.`, `1)`) or a setext underline.
_MARKDOWN_BLOCK_START = re.compile(r"^(?:[-+=]|\d+[.)])")

Escape = Callable[[str], str]


def one_line(text: str) -> str:
    """Text with no line breaks or control characters left, whitespace runs collapsed to one space."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp") or char in _BIDI:
            kept.append(" ")
        elif category == "Cs":
            kept.append("\ufffd")  # a lone surrogate cannot be encoded
        else:
            kept.append(char)
    return " ".join("".join(kept).split())


def markdown_inline(text: str) -> str:
    """One line of literal Markdown text: it can open no block or inline construct."""
    flat = "".join(f"\\{char}" if char in _MARKDOWN_INLINE else char for char in one_line(text))
    return _MARKDOWN_BLOCK_START.sub(lambda match: f"{match.group(0)[:-1]}\\{match.group(0)[-1]}", flat)


def html_inline(text: str) -> str:
    return escape(one_line(text))


def _stance(stance: Stance | None) -> str:
    return "none" if stance is None else f"{stance.position.value} ({stance.score:+.2f})"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _headline(digest: Digest, esc: Escape) -> str:
    count = digest.change_count
    noun = "change" if count == 1 else "changes"
    return (
        f"Digest {esc(digest.subscription_id)}: {count} stance {noun},"
        f" {_when(digest.window_start)} to {_when(digest.window_end)}"
    )


def _line(change: StanceChange, esc: Escape) -> str:
    return (
        f"{change.kind.value}: {_stance(change.previous)} → {_stance(change.current)};"
        f" happened {change.occurred_at.label()}, detected {_when(change.detected_at)},"
        f" event {esc(change.event_id)}"
    )


def _quote(change: StanceChange) -> str | None:
    """The quote made one line, if anything is left of it."""
    if change.current is None or not change.current.quote:
        return None
    return one_line(change.current.quote) or None


def _basis(change: StanceChange) -> str | None:
    """The analyst's reading behind the claim made one line, shown after the quote, never in it."""
    if change.current is None or not change.current.basis:
        return None
    return one_line(change.current.basis) or None


def render_text(digest: Digest) -> str:
    lines = [_headline(digest, one_line), ""]
    if not digest.groups:
        lines.append("No stance changes in this window.")
    for group in digest.groups:
        lines.append(f"{one_line(group.actor_id)} on {one_line(group.issue_id)}")
        for change in group.changes:
            lines.append(f"  - {_line(change, one_line)}")
            if (quote := _quote(change)) is not None:
                lines.append(f'    "{quote}"')
            if (basis := _basis(change)) is not None:
                lines.append(f"    basis: {basis}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(digest: Digest) -> str:
    lines = [f"# {_headline(digest, markdown_inline)}", ""]
    if not digest.groups:
        lines.append("No stance changes in this window.")
    for group in digest.groups:
        lines.append(f"## {markdown_inline(group.actor_id)} on {markdown_inline(group.issue_id)}")
        lines.append("")
        for change in group.changes:
            lines.append(f"- {_line(change, markdown_inline)}")
            if (quote := _quote(change)) is not None:
                lines.append(f"  > {markdown_inline(quote)}")
            if (basis := _basis(change)) is not None:
                # after a blank line: a paragraph of the list item, not a lazy line of the quote
                lines += ["", f"  Basis: {markdown_inline(basis)}"]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_html(digest: Digest) -> str:
    headline = _headline(digest, html_inline)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{headline}</title></head><body>",
        f"<h1>{headline}</h1>",
    ]
    if not digest.groups:
        parts.append("<p>No stance changes in this window.</p>")
    for group in digest.groups:
        parts.append(f"<h2>{html_inline(group.actor_id)} on {html_inline(group.issue_id)}</h2><ul>")
        for change in group.changes:
            item = _line(change, html_inline)
            if (quote := _quote(change)) is not None:
                item += f"<blockquote>{html_inline(quote)}</blockquote>"
            if (basis := _basis(change)) is not None:
                item += f'<p class="basis">Basis: {html_inline(basis)}</p>'
            parts.append(f"<li>{item}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
