"""The digest subscriptions file (YAML), read and written by `timeline digest ...`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from schemas.subscriptions import DigestSubscription


class SubscriptionFileError(ValueError):
    pass


def load_subscriptions(path: Path) -> list[DigestSubscription]:
    """Every subscription in the file; a missing file has none."""
    if not path.exists():
        return []
    try:
        document: Any = yaml.safe_load(path.read_text("utf-8")) or {}
        return [DigestSubscription.model_validate(item) for item in document.get("subscriptions") or []]
    except (yaml.YAMLError, ValidationError, AttributeError) as error:
        raise SubscriptionFileError(f"{path}: {error}") from error


def save_subscriptions(path: Path, subscriptions: list[DigestSubscription]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "subscriptions": [
            subscription.model_dump(mode="json", exclude_defaults=True)
            | {"schedule": subscription.schedule.model_dump()}
            for subscription in subscriptions
        ]
    }
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    os.replace(partial, path)
