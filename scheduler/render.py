"""Digest rendering as text, Markdown and HTML. Pure.

Everything that came from an event (ids, quotes) is escaped in HTML, so a
quote containing `<script>` comes out as inert text.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from schemas.digests import Digest
from schemas.stances import Stance, StanceChange


def _stance(stance: Stance | None) -> str:
    return "none" if stance is None else f"{stance.position.value} ({stance.score:+.2f})"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _headline(digest: Digest) -> str:
    count = digest.change_count
    noun = "change" if count == 1 else "changes"
    return (
        f"Digest {digest.subscription_id}: {count} stance {noun},"
        f" {_when(digest.window_start)} to {_when(digest.window_end)}"
    )


def _line(change: StanceChange) -> str:
    return (
        f"{change.kind.value}: {_stance(change.previous)} → {_stance(change.current)};"
        f" happened {change.occurred_at.label()}, detected {_when(change.detected_at)},"
        f" event {change.event_id}"
    )


def _quote(change: StanceChange) -> str | None:
    return change.current.quote if change.current is not None and change.current.quote else None


def render_text(digest: Digest) -> str:
    lines = [_headline(digest), ""]
    if not digest.groups:
        lines.append("No stance changes in this window.")
    for group in digest.groups:
        lines.append(f"{group.actor_id} on {group.issue_id}")
        for change in group.changes:
            lines.append(f"  - {_line(change)}")
            if (quote := _quote(change)) is not None:
                lines.append(f'    "{quote}"')
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _markdown_escape(text: str) -> str:
    return "".join(f"\\{char}" if char in "\\`*_{}[]<>#|" else char for char in text)


def render_markdown(digest: Digest) -> str:
    lines = [f"# {_markdown_escape(_headline(digest))}", ""]
    if not digest.groups:
        lines.append("No stance changes in this window.")
    for group in digest.groups:
        lines.append(f"## {_markdown_escape(group.actor_id)} on {_markdown_escape(group.issue_id)}")
        lines.append("")
        for change in group.changes:
            lines.append(f"- {_markdown_escape(_line(change))}")
            if (quote := _quote(change)) is not None:
                lines.append(f"  > {_markdown_escape(quote)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_html(digest: Digest) -> str:
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(_headline(digest))}</title></head><body>",
        f"<h1>{escape(_headline(digest))}</h1>",
    ]
    if not digest.groups:
        parts.append("<p>No stance changes in this window.</p>")
    for group in digest.groups:
        parts.append(f"<h2>{escape(group.actor_id)} on {escape(group.issue_id)}</h2><ul>")
        for change in group.changes:
            item = escape(_line(change))
            if (quote := _quote(change)) is not None:
                item += f"<blockquote>{escape(quote)}</blockquote>"
            parts.append(f"<li>{item}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
