"""What a subscriber or a digest asks for: change filters and digest subscriptions."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.actors import Slug
from schemas.stances import ChangeKind, StanceChange


def score_move(change: StanceChange) -> float:
    """How far the score moved: a first stance or a withdrawal counts its whole score."""
    before = change.previous.score if change.previous is not None else 0.0
    after = change.current.score if change.current is not None else 0.0
    return abs(after - before)


class ChangeFilter(BaseModel):
    """Which stance changes to keep; an empty set means "any"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actors: frozenset[Slug] = frozenset()
    issues: frozenset[Slug] = frozenset()
    kinds: frozenset[ChangeKind] = frozenset()
    min_score_move: float = Field(default=0.0, ge=0.0, le=2.0)

    def matches(self, change: StanceChange) -> bool:
        return (
            (not self.actors or change.actor_id in self.actors)
            and (not self.issues or change.issue_id in self.issues)
            and (not self.kinds or change.kind in self.kinds)
            and score_move(change) >= self.min_score_move
        )


class CronSchedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["cron"] = "cron"
    cron: str = Field(description="Five crontab fields, e.g. '0 8 * * *' for 08:00 every day.")


class IntervalSchedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["interval"] = "interval"
    seconds: int = Field(gt=0, description="Length of each window.")


Schedule = Annotated[CronSchedule | IntervalSchedule, Field(discriminator="kind")]


SinkKind = Literal["stdout", "file", "topic", "webhook", "smtp"]
SINK_KINDS: tuple[str, ...] = get_args(SinkKind)
"""Every kind of sink, listed once: the CLI, the model and `make_sink` read it from here."""


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def redact_url(url: str) -> str:
    """`scheme://host/…` only: webhook paths and queries often carry tokens, so logs never show them."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "…"
    if not parts.scheme or not host:
        return "…"
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}/…"


def redact_sink_id(sink_id: str) -> str:
    """A sink id as logs and the CLI show it: a webhook's URL redacted, no trailing colon."""
    kind, _, target = sink_id.partition(":")
    return f"webhook:{redact_url(target)}" if kind == "webhook" and target else sink_id.rstrip(":")


def parse_smtp_target(target: str) -> tuple[str, int | None, str]:
    """`host[:port]/to@address` as (host, port or None, recipient); ValueError says what is wrong."""
    server, _, recipient = target.partition("/")
    host, colon, port_text = server.partition(":")
    local, _, domain = recipient.partition("@")
    if not host or not local or not domain:
        raise ValueError(
            f"an smtp sink needs host:port/to@address, e.g. smtp:mail.example.org:587/me@example.org"
            f" (got {target!r})"
        )
    port = None
    if colon:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"smtp port {port_text!r} is not a number from 1 to 65535 (in {target!r})")
        port = int(port_text)
    return host, port, recipient


def _target_problem(kind: str, target: str | None) -> str | None:
    """What is wrong with this target for this kind of sink, if anything (a sentence for the user)."""
    if kind in ("stdout", "topic"):
        return None if target is None else f"a {kind} sink takes no target: write just {kind!r}"
    if kind == "file":
        return None if target else "a file sink needs a folder: file:DIR"
    if kind == "webhook":
        try:
            parts = urlsplit(target or "")
            _ = parts.port  # a port that is not a number raises here
        except ValueError:
            return "a webhook sink needs a valid http(s) URL: webhook:https://host/path"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            scheme = f" (got scheme {parts.scheme!r})" if parts.scheme not in ("", "http", "https") else ""
            return f"a webhook sink needs an http or https URL: webhook:https://host/path{scheme}"
        return None
    if kind == "smtp":
        try:
            parse_smtp_target(target or "")
        except ValueError as error:
            return str(error)
    return None


class SinkConfig(BaseModel):
    """Where a digest goes: `stdout`, `file`, `topic`, `webhook` or `smtp`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SinkKind
    target: str | None = Field(
        default=None,
        description="file: a folder; webhook: the URL; smtp: host:port/to@address; none otherwise.",
    )
    format: Literal["text", "markdown", "html"] = "markdown"
    secret: str | None = Field(
        default=None,
        description="webhook: HMAC-SHA256 key for the signature; prefer secret_env (this one is on disk).",
    )
    secret_env: str | None = Field(
        default=None,
        description="webhook: the environment variable holding the HMAC key, read at each send.",
    )

    @model_validator(mode="after")
    def _fits_its_kind(self) -> SinkConfig:
        problem = _target_problem(self.kind, self.target)
        if problem is not None:
            raise ValueError(problem)
        if self.secret is not None and not self.secret.strip():
            raise ValueError("an empty webhook secret would sign nothing: give a key, or no secret at all")
        if self.secret_env is not None and not ENV_NAME.fullmatch(self.secret_env):
            raise ValueError(f"secret_env {self.secret_env!r} is not an environment variable name")
        if self.secret is not None and self.secret_env is not None:
            raise ValueError("give the webhook secret or secret_env (the variable that holds it), not both")
        return self

    @property
    def sink_id(self) -> str:
        """The sink's key in the ledger (unredacted: changing it would send old digests again)."""
        return f"{self.kind}:{self.target or ''}"

    @property
    def label(self) -> str:
        """The sink as logs and the CLI show it: a webhook's URL redacted."""
        return redact_sink_id(self.sink_id)


class DigestSubscription(BaseModel):
    """A named, scheduled digest of the stance changes that match its filters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    schedule: Schedule
    timezone: str = "UTC"
    filters: ChangeFilter = ChangeFilter()
    sinks: tuple[SinkConfig, ...] = (SinkConfig(kind="stdout"),)
    skip_empty: bool = False
    catch_up: Literal["each", "coalesce"] = Field(
        default="each",
        description="After downtime: one digest per missed window, or one covering them all.",
    )
    start: datetime | None = Field(
        default=None,
        description="The first window is the one containing this moment; default: when first scheduled.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like 'Europe/London')"
            ) from error
        return value
