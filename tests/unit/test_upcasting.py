"""Old event documents are read as the current schema."""

from __future__ import annotations

import pytest

from schemas import StatementEvent, parse_event, upcast
from schemas.upcasting import UnsupportedSchemaVersionError

V0_FIXTURE = {
    "event_id": "v0-lammy",
    "kind": "statement",
    "date": "2025-02-20",
    "actor": "david-lammy",
    "summary": "Lammy: open to dialogue with Russia if it genuinely seeks peace.",
    "claims": [{"issue": "dialogue-with-russia", "stance": "conditional", "score": 0.3, "confidence": 0.7}],
}


def test_v0_document_is_upcast_to_v1() -> None:
    upgraded = upcast(dict(V0_FIXTURE))
    assert upgraded["schema_version"] == 1
    assert upgraded["type"] == "statement"
    assert upgraded["occurred_at"] == "2025-02-20"
    assert upgraded["actors"] == [{"actor_id": "david-lammy", "role": "speaker"}]
    assert upgraded["stances"][0]["actor_id"] == "david-lammy"
    assert upgraded["stances"][0]["position"] == "conditional"
    assert not {"kind", "date", "actor", "claims"} & set(upgraded)


def test_v0_event_parses_as_a_current_event() -> None:
    event = parse_event(dict(V0_FIXTURE))
    assert isinstance(event, StatementEvent)
    assert event.schema_version == 1
    assert event.stances[0].issue_id == "dialogue-with-russia"


def test_current_version_is_left_alone() -> None:
    document = {"schema_version": 1, "type": "statement", "summary": "x"}
    assert upcast(dict(document)) == document


@pytest.mark.parametrize("version", [2, 99, -1, "1", True])
def test_unknown_versions_are_refused(version: object) -> None:
    with pytest.raises(UnsupportedSchemaVersionError):
        upcast({"schema_version": version})


def test_the_models_pin_the_version_the_upcaster_brings_documents_to() -> None:
    from typing import get_args

    from schemas.events import StatementEvent
    from schemas.upcasting import CURRENT_SCHEMA_VERSION

    assert get_args(StatementEvent.model_fields["schema_version"].annotation) == (CURRENT_SCHEMA_VERSION,)
