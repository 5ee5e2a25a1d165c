"""Load the registry of actors and issues: the bundled YAML files plus a user's own.

Files feed the registry topic (`timeline registry load`, `timeline up`) and offline
validation (`timeline-check`); workers and publishers read the topic (`streams.registry`).

Every problem in every file is reported, one line each naming the file and the
entry, so a user fixes them in one pass; `timeline` exits with its own code
for them (README, exit codes), not that of an invalid event.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from schemas.actors import Actor
from schemas.issues import Issue
from schemas.problems import problems_of
from schemas.registry import Registry

BUNDLED = ("actors.yaml", "issues.yaml")
SECTIONS: dict[str, type[BaseModel]] = {"actors": Actor, "issues": Issue}


class RegistryFileError(ValueError):
    """Registry files that cannot be read or hold invalid entries: one problem per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def registry_paths(value: Any) -> Any:
    """`TIMELINE_REGISTRY_FILES` as a list: a JSON list, one path, or paths joined by ':'."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"not a JSON list of paths ({error}): give one path, or paths joined by ':'"
            ) from None
    return [part for part in text.split(os.pathsep) if part.strip()]


def _read(text: str, origin: str) -> tuple[dict[str, Any], list[str]]:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        return {}, [f"{origin}: not valid YAML{line}: {reason}"]
    if not isinstance(document, dict) or not set(document) <= set(SECTIONS):
        return {}, [f"{origin}: expected a mapping with 'actors' and/or 'issues' lists"]
    return document, []


def _entries(document: dict[str, Any], origin: str) -> tuple[dict[str, list[BaseModel]], list[str]]:
    """Each section's valid entries, and a line per invalid one naming the file and the entry."""
    valid: dict[str, list[BaseModel]] = {section: [] for section in SECTIONS}
    problems: list[str] = []
    for section, model in SECTIONS.items():
        entries = document.get(section) or []
        if not isinstance(entries, list):
            problems.append(f"{origin}: '{section}' is a list of entries, got {type(entries).__name__}")
            continue
        for number, entry in enumerate(entries, start=1):
            named = f" {entry['id']!r}" if isinstance(entry, dict) and "id" in entry else ""
            where = f"{origin}: {section} entry {number}{named}"
            try:
                valid[section].append(model.model_validate(entry))
            except ValidationError as error:
                problems.extend(f"{where}: {problem}" for problem in problems_of(error))
    return valid, problems


def load_registry(extra_files: Iterable[Path] = (), bundled: bool = True) -> Registry:
    """The bundled registry (unless not `bundled`), extended (and overridden by id) by each extra
    file in order."""
    data = resources.files("schemas").joinpath("data")
    texts = [
        (data.joinpath(name).read_text("utf-8"), f"bundled registry file {name}")
        for name in (BUNDLED if bundled else ())
    ]
    problems: list[str] = []
    for path in extra_files:
        try:
            texts.append((Path(path).read_text("utf-8"), f"registry file {path}"))
        except OSError as error:
            problems.append(f"registry file {path}: {error.strerror or error}")
    actors: dict[str, Actor] = {}
    issues: dict[str, Issue] = {}
    for text, origin in texts:
        document, unreadable = _read(text, origin)
        valid, invalid = _entries(document, origin)
        problems += unreadable + invalid
        actors.update((actor.id, actor) for actor in valid["actors"] if isinstance(actor, Actor))
        issues.update((issue.id, issue) for issue in valid["issues"] if isinstance(issue, Issue))
    if problems:
        raise RegistryFileError(problems)
    return Registry(actors=actors, issues=issues)
