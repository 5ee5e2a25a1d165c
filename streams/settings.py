"""One settings object for every process, read from `TIMELINE_*` environment variables."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from streams.core.stores import DEFAULT_PARTITIONS
from streams.registry_files import registry_paths

MAX_EVENT_BYTES_LIMIT = 768 * 1024
"""The most TIMELINE_MAX_EVENT_BYTES may be: an event's record, its changelog record or its dead
letter must fit the 1 MiB a broker takes in one record by default (the worker's producer requests)."""
PRODUCER_REQUEST_BYTES = 1024 * 1024
"""The worker's producer request limit, set explicitly (faust's default is 1,000,000 bytes)."""

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


@dataclass(frozen=True)
class Topics:
    """The project's topic names under one prefix (`diplomacy.` by default)."""

    prefix: str = "diplomacy."

    @property
    def app_id(self) -> str:
        """The faust app id; changelog topics are named after it."""
        return f"{self.prefix}timeline"

    def changelog(self, store: str) -> str:
        """faust's name for a table's changelog topic."""
        return f"{self.app_id}-{store}-changelog"

    @property
    def events(self) -> str:
        return f"{self.prefix}events"

    @property
    def registry(self) -> str:
        """Every version of every actor and issue (key `actor:ID` / `issue:ID`), kept forever."""
        return f"{self.prefix}registry"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}events.dlq"

    @property
    def stance_changes(self) -> str:
        return f"{self.prefix}stance-changes"

    @property
    def digests(self) -> str:
        return f"{self.prefix}digests"

    @property
    def claims(self) -> str:
        """Internal: claims repartitioned by actor_id."""
        return f"{self.prefix}claims"

    @property
    def retractions(self) -> str:
        """Internal: retraction requests, keyed by the retracted event_id."""
        return f"{self.prefix}retractions"


class Settings(BaseSettings):
    """Where the broker lives, what the topics are called and how publishing behaves.

    Every field can be set with an environment variable named `TIMELINE_` plus
    the field name in upper case, e.g. `TIMELINE_BROKER_PORT=19092`.
    """

    model_config = SettingsConfigDict(env_prefix="TIMELINE_", extra="ignore")

    home: Path = Field(
        default=Path(".timeline"),
        description="Local state: broker jars, broker data, logs, pid files.",
    )
    broker_host: str = "127.0.0.1"
    broker_port: int = Field(default=9092, ge=1, le=65535)
    controller_port: int = Field(default=9093, ge=1, le=65535)
    broker_heap: str = Field(default="512m", description="JVM -Xmx for the local broker.")
    broker_start_timeout: float = Field(default=60.0, gt=0)
    kafka_libs_dir: Path | None = Field(default=None, description="Broker jars; default HOME/kafka/libs.")
    kafka_data_dir: Path | None = Field(
        default=None, description="Broker log dirs and config; default HOME/kafka."
    )
    bootstrap_servers: str | None = Field(
        default=None,
        description="An existing broker to use instead of the local one (e.g. docker compose).",
    )
    broker_secure: bool = Field(
        default=False,
        description="The local broker listens with SASL_SSL (SCRAM-SHA-512, TLS from a CA of its own);"
        " clients default to that listener, its CA and its user. Data in HOME/kafka-secure.",
    )

    security_protocol: SecurityProtocol | None = Field(
        default=None,
        description="How every client reaches Kafka; default PLAINTEXT, or SASL_SSL with BROKER_SECURE.",
    )
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = Field(
        default=None, description="Prefer SASL_PASSWORD_FILE or SASL_PASSWORD_ENV: a value here shows in env."
    )
    sasl_password_file: Path | None = Field(default=None, description="A file holding the SASL password.")
    sasl_password_env: str | None = Field(
        default=None, description="The name of an environment variable holding the SASL password."
    )
    ssl_cafile: Path | None = Field(
        default=None, description="CA certificates (PEM) to trust the brokers by."
    )
    ssl_certfile: Path | None = Field(default=None, description="A client certificate (PEM), for mutual TLS.")
    ssl_keyfile: Path | None = Field(default=None, description="The client certificate's private key (PEM).")
    ssl_check_hostname: bool = Field(default=True, description="Check the broker's name against its cert.")

    store: Literal["rocksdb", "memory"] = Field(
        default="rocksdb",
        description="Where a worker keeps its tables: RocksDB in HOME/workers/NAME, or memory (small"
        " deployments, fast tests); either way recovered from the changelog topics.",
    )
    rocksdb_cache_mib: int = Field(default=32, ge=1, description="The block cache all RocksDB stores share.")

    topic_prefix: str = "diplomacy."
    partitions: int = Field(default=DEFAULT_PARTITIONS, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1)

    registry_files: Annotated[list[Path], NoDecode, BeforeValidator(registry_paths)] = Field(
        default_factory=list,
        description="Extra YAML files of actors and issues, merged over the bundled ones, that"
        " 'timeline up' loads onto the registry topic and timeline-check reads: one path,"
        " paths joined by ':', or a JSON list.",
    )
    max_event_bytes: int = Field(
        default=256 * 1024,
        gt=0,
        le=MAX_EVENT_BYTES_LIMIT,
        description="Largest encoded event the publisher sends and the worker accepts.",
    )

    score_change_threshold: float = Field(
        default=0.2, gt=0, le=2, description="A score move of at least this much is a stance change."
    )
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535, description="The worker's query API.")
    api_url: str | None = Field(
        default=None, description="Where CLI queries go; default http://WEB_HOST:WEB_PORT."
    )
    advertised_url: str | None = Field(
        default=None,
        description="Where other workers reach this one's API; default http://WEB_HOST:WEB_PORT"
        " (the host's name when WEB_HOST is 0.0.0.0).",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="When set, every API route but /health needs 'Authorization: Bearer TOKEN'"
        " (required to bind WEB_HOST to a non-loopback address).",
    )
    standby_replicas: int = Field(
        default=0, ge=0, description="Standby copies of each table partition on other workers (faust)."
    )
    worker_log_level: str = "WARNING"

    digests_file: Path | None = Field(
        default=None, description="The digest subscriptions (YAML); default HOME/digests.yaml."
    )
    digest_grace_seconds: float = Field(
        default=2.0, ge=0, description="Wait this long after a window closes for late changes."
    )
    sink_attempts: int = Field(default=3, ge=1, description="Tries per sink and run before giving up.")
    smtp_from: str = "diplomatic-timeline@localhost"
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none", description="SMTP sinks: plain, STARTTLS (port 587), or TLS from the start (465)."
    )
    smtp_username: str | None = Field(default=None, description="SMTP login; needs starttls or tls.")
    smtp_password_file: Path | None = Field(
        default=None, description="A file holding the SMTP password, read at each send."
    )
    sse_max_connections: int = Field(
        default=32,
        ge=1,
        description="Open /changes/stream connections a worker serves at most; past it 503, Retry-After.",
    )

    def environment(self) -> dict[str, str]:
        """These settings as TIMELINE_* variables, for a child process (a worker, a scheduler)."""
        variables = {}
        for name, value in self.model_dump(mode="json").items():
            secret = getattr(self, name)
            if isinstance(secret, SecretStr):
                value = secret.get_secret_value()  # the child needs the value, not its mask
            if value is not None:
                text = json.dumps(value) if isinstance(value, list | dict) else str(value)
                variables[f"TIMELINE_{name.upper()}"] = text
        return variables

    def without_secrets_json(self) -> str:
        """These settings as JSON for a job store on disk: the SASL password is left out."""
        return self.model_dump_json(exclude={"sasl_password"})

    @classmethod
    def from_json_and_environment(cls, document: str) -> Settings:
        """Settings from `without_secrets_json`, the secrets read again from TIMELINE_* variables."""
        return cls(**json.loads(document))

    @property
    def bootstrap(self) -> str:
        return self.bootstrap_servers or f"{self.broker_host}:{self.broker_port}"

    @property
    def topics(self) -> Topics:
        """The topic names under this prefix."""
        return Topics(self.topic_prefix)

    @property
    def app_id(self) -> str:
        """The faust app id; changelog topics are named after it."""
        return self.topics.app_id

    @property
    def api(self) -> str:
        return (self.api_url or f"http://{self.web_host}:{self.web_port}").rstrip("/")

    @property
    def query_url(self) -> str:
        """This worker's API as its peers reach it (published in the consumer group)."""
        if self.advertised_url:
            return self.advertised_url.rstrip("/")
        host = socket.gethostname() if self.web_host in ("0.0.0.0", "::", "") else self.web_host
        return f"http://{host}:{self.web_port}"

    @property
    def subscriptions_path(self) -> Path:
        return (self.digests_file or self.home / "digests.yaml").absolute()

    @property
    def scheduler_dir(self) -> Path:
        return (self.home / "scheduler").absolute()

    @property
    def libs_dir(self) -> Path:
        return (self.kafka_libs_dir or self.home / "kafka" / "libs").absolute()

    @property
    def broker_dir(self) -> Path:
        default = self.home / ("kafka-secure" if self.broker_secure else "kafka")
        return (self.kafka_data_dir or default).absolute()
