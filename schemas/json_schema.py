"""JSON Schema documents for every public model, for publishers in other languages."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode

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

INPUT_FORMS = ("diplomatic-event",)
"""Models whose input differs from what is stored: exported twice, the stored form as NAME.schema.json
and what a publisher writes (text times, a place's name) as NAME.input.schema.json."""
WRITTEN_BY_USERS = ("actor", "issue", "stance-claim", "event-time", "change-filter", "digest-subscription")
"""Models a user writes (registry files, claims, subscriptions): their schema is the input form."""


def _schema(model: Any, mode: JsonSchemaMode) -> dict[str, Any]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_json_schema(mode=mode)
    return TypeAdapter(model).json_schema(mode=mode)


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document, for each public model (and each input form)."""
    documents: dict[str, dict[str, Any]] = {}
    for name, model in PUBLIC_MODELS.items():
        variants: list[tuple[str, JsonSchemaMode]] = [
            (name, "validation" if name in WRITTEN_BY_USERS else "serialization")
        ]
        if name in INPUT_FORMS:
            variants.append((f"{name}.input", "validation"))
        for file_stem, mode in variants:
            schema = {"$schema": SCHEMA_DIALECT, "$id": f"{file_stem}.schema.json", **_schema(model, mode)}
            if name == "diplomatic-event":
                schema["title"] = "DiplomaticEvent" if mode == "serialization" else "DiplomaticEventInput"
            documents[f"{file_stem}.schema.json"] = schema
    return documents


def render(schema: dict[str, Any]) -> str:
    """The committed text of one schema: stable key order, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
