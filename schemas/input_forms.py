"""What a publisher may write that is stored otherwise, for the input JSON Schema.

A time may be text ("2025-02-20"), a location a place's name, an alias its
name alone; each is stored as its object. The input schema
(`diplomatic-event.input.schema.json`) offers both forms, the stored one only
the object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

if TYPE_CHECKING:
    SchemaHook = classmethod[Any, [CoreSchema, GetJsonSchemaHandler], JsonSchemaValue]


def text_or_object(text: dict[str, Any], **input_properties: dict[str, Any]) -> SchemaHook:
    """A model's `__get_pydantic_json_schema__`: on input, `text` or the object (with
    `input_properties` replacing the stored form's); stored, the object."""

    def hook(cls: Any, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        if handler.mode != "validation":
            return schema
        if input_properties:
            schema = {**schema, "properties": {**schema.get("properties", {}), **input_properties}}
        return {"anyOf": [text, schema]}

    return classmethod(hook)
