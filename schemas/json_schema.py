"""JSON Schema documents for every public model, for publishers in other languages."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, TypeAdapter

from schemas.actors import Actor
from schemas.digests import Digest
from schemas.events import DiplomaticEvent
from schemas.issues import Issue
from schemas.stances import Stance, StanceChange, StanceClaim
from schemas.subscriptions import ChangeFilter, DigestSubscription
from schemas.time import EventTime

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

PUBLIC_MODELS: dict[str, Any] = {
    "diplomatic-event": DiplomaticEvent,
    "actor": Actor,
    "issue": Issue,
    "stance-claim": StanceClaim,
    "stance": Stance,
    "stance-change": StanceChange,
    "digest": Digest,
    "event-time": EventTime,
    "change-filter": ChangeFilter,
    "digest-subscription": DigestSubscription,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document, for each public model."""
    documents: dict[str, dict[str, Any]] = {}
    for name, model in PUBLIC_MODELS.items():
        if isinstance(model, type) and issubclass(model, BaseModel):
            schema = model.model_json_schema(mode="validation")
        else:
            schema = TypeAdapter(model).json_schema(mode="validation")
        schema = {"$schema": SCHEMA_DIALECT, "$id": f"{name}.schema.json", **schema}
        if name == "diplomatic-event":
            schema["title"] = "DiplomaticEvent"
        documents[f"{name}.schema.json"] = schema
    return documents


def render(schema: dict[str, Any]) -> str:
    """The committed text of one schema: stable key order, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
