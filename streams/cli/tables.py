"""Plain-text tables for the query commands: aligned columns, no dependency."""

from __future__ import annotations

STANCE_HEADERS = ["issue", "position", "score", "conf.", "date", "event", "quote"]


def stance_rows(stances: list[dict[str, object]]) -> list[list[str]]:
    """One row per stance (or claim) of the API's JSON, the quote cut to fit a terminal."""
    rows = []
    for stance in stances:
        occurred = stance["occurred_at"]
        assert isinstance(occurred, dict)
        day = str(occurred["at"])[:10]
        quote = str(stance.get("quote") or "")
        rows.append(
            [
                str(stance["issue_id"]),
                str(stance["position"]),
                f"{stance['score']:+.2f}",
                f"{stance['confidence']:.2f}",
                day,
                str(stance["event_id"]),
                (quote[:57] + "...") if len(quote) > 60 else quote,
            ]
        )
    return rows


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Left-aligned columns under a row of dashes."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
