"""The worker's tables: events by event_id, current stances and claim history by actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from streams.settings import Settings

EVENTS = "events"
CURRENT = "stance-current"
HISTORY = "stance-history"


@dataclass(frozen=True)
class Tables:
    events: Any
    """event_id -> EventRecord JSON; partitioned like `diplomacy.events`."""
    current: Any
    """actor|issue -> current Stance JSON; partitioned like the claims topic (by actor)."""
    history: Any
    """actor|issue|event_id -> Stance JSON, one record per claim."""

    def changelog_topics(self) -> dict[str, str]:
        return {
            EVENTS: self.events.changelog_topic.get_topic_name(),
            CURRENT: self.current.changelog_topic.get_topic_name(),
            HISTORY: self.history.changelog_topic.get_topic_name(),
        }


def changelog_topic(settings: Settings, table: str) -> str:
    """faust's name for a table's changelog topic."""
    return f"{settings.app_id}-{table}-changelog"


def declare_tables(app: faust.App, settings: Settings) -> Tables:
    def table(name: str, help_text: str) -> Any:
        return app.Table(
            name,
            partitions=settings.partitions,
            key_type=bytes,
            value_type=bytes,
            help=help_text,
        )

    return Tables(
        events=table(EVENTS, "event records by event_id"),
        current=table(CURRENT, "current stance by actor|issue"),
        history=table(HISTORY, "claims by actor|issue|event_id"),
    )
