"""Load the registry of actors and issues: the bundled YAML files plus a user's own."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from schemas.registry import Registry

BUNDLED = ("actors.yaml", "issues.yaml")


class RegistryFileError(ValueError):
    pass


def _read(text: str, origin: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise RegistryFileError(f"{origin}: not valid YAML: {error}") from error
    if not isinstance(document, dict) or not set(document) <= {"actors", "issues"}:
        raise RegistryFileError(f"{origin}: expected a mapping with 'actors' and/or 'issues' lists")
    return document


def load_registry(extra_files: Iterable[Path] = ()) -> Registry:
    """The bundled registry, extended (and overridden by id) by each extra file in order."""
    data = resources.files("schemas").joinpath("data")
    documents = [_read(data.joinpath(name).read_text("utf-8"), name) for name in BUNDLED]
    for path in extra_files:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as error:
            raise RegistryFileError(f"registry file {path}: {error.strerror}") from error
        documents.append(_read(text, str(path)))
    try:
        return Registry.from_documents(documents)
    except ValidationError as error:
        raise RegistryFileError(f"registry: {error}") from error
