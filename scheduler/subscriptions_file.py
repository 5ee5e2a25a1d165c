"""The digest subscriptions file (YAML), read and written by `timeline digest ...`.

It may hold webhook secrets and token-bearing URLs, so it is written 0600,
atomically, and its errors never echo the values they are about.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from schemas.subscriptions import DigestSubscription

FILE_MODE = 0o600


class SubscriptionFileError(ValueError):
    pass


def explain(error: ValidationError) -> str:
    """The validation errors as short sentences, without pydantic's input echo (secrets, URLs) or links."""
    messages = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        messages.append(f"{where}: {message}" if where else message)
    return "; ".join(messages)


def load_subscriptions(path: Path) -> list[DigestSubscription]:
    """Every subscription in the file; a missing file has none."""
    if not path.exists():
        return []
    try:
        document: Any = yaml.safe_load(path.read_text("utf-8")) or {}
        return [DigestSubscription.model_validate(item) for item in document.get("subscriptions") or []]
    except ValidationError as error:
        raise SubscriptionFileError(f"{path}: {explain(error)}") from error
    except (yaml.YAMLError, AttributeError) as error:
        raise SubscriptionFileError(f"{path}: {error}") from error


def save_subscriptions(path: Path, subscriptions: list[DigestSubscription]) -> None:
    """Write the file whole: a 0600 temporary file beside it, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "subscriptions": [
            subscription.model_dump(mode="json", exclude_defaults=True)
            | {"schedule": subscription.schedule.model_dump()}
            for subscription in subscriptions
        ]
    }
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), FILE_MODE)  # mkstemp's default too; said here because it matters
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
