"""The local broker's `server.properties`: one KRaft node, PLAINTEXT or secured.

Secured, the client listener is SASL_SSL (SCRAM-SHA-512 over TLS from the
project's own CA) and is also the inter-broker listener, so no process on the
machine reaches the broker's topics without a login; the controller listener
stays PLAINTEXT on loopback, as only the node itself talks to it.
"""

from __future__ import annotations

from pathlib import Path

from streams.kafka.local_security import BROKER_USER, CLIENT_USER, MECHANISM, LocalSecurity
from streams.settings import Settings


def listener_lines(settings: Settings, security: LocalSecurity | None) -> list[str]:
    host, port, controller = settings.broker_host, settings.broker_port, settings.controller_port
    client = "SASL_SSL" if security is not None else "PLAINTEXT"
    lines = [
        f"listeners={client}://{host}:{port},CONTROLLER://{host}:{controller}",
        f"advertised.listeners={client}://{host}:{port}",
        f"inter.broker.listener.name={client}",
        "controller.listener.names=CONTROLLER",
        f"listener.security.protocol.map=CONTROLLER:PLAINTEXT,{client}:{client}",
    ]
    if security is None:
        return lines
    own = f'username="{BROKER_USER}" password="{security.password(BROKER_USER)}"'
    users = " ".join(f'user_{user}="{security.password(user)}"' for user in (BROKER_USER, CLIENT_USER))
    scram = f"org.apache.kafka.common.security.scram.ScramLoginModule required {own};"
    plain = f"org.apache.kafka.common.security.plain.PlainLoginModule required {own} {users};"
    return [
        *lines,
        # PLAIN (over TLS, same users and passwords) for librdkafka before 2.6.1, such as
        # Debian's kcat: Kafka 4 refuses its SCRAM proof (librdkafka#4895, CVE-2024-56128).
        f"sasl.enabled.mechanisms={MECHANISM},PLAIN",
        f"sasl.mechanism.inter.broker.protocol={MECHANISM}",
        f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config={scram}",
        f"listener.name.sasl_ssl.plain.sasl.jaas.config={plain}",
        "ssl.keystore.type=PEM",
        f"ssl.keystore.location={security.broker_pem}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={security.ca_file}",
        "ssl.client.auth=none",
    ]


def server_properties(settings: Settings, data: Path, security: LocalSecurity | None = None) -> str:
    host, controller = settings.broker_host, settings.controller_port
    return "\n".join(
        [
            "# written by diplomatic-timeline (streams/kafka/broker_config.py); edits are overwritten",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{host}:{controller}",
            *listener_lines(settings, security),
            f"log.dirs={data}",
            f"num.partitions={settings.partitions}",
            "default.replication.factor=1",
            # Topics are created explicitly with one partition count (see streams/topics.py).
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "log.cleaner.dedupe.buffer.size=33554432",
            "num.network.threads=2",
            "num.io.threads=2",
            "",
        ]
    )


def scram_arguments(security: LocalSecurity | None) -> list[str]:
    """The format tool's `--add-scram` options: each user is created with the storage."""
    if security is None:
        return []
    return [
        f"--add-scram={MECHANISM}=[name={user},password={security.password(user)}]"
        for user in (BROKER_USER, CLIENT_USER)
    ]
