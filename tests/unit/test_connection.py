"""Connection settings resolved from `Settings` (no broker): protocol, login, TLS, their errors."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509

from streams.kafka.broker_config import scram_arguments, server_properties
from streams.kafka.connection import ConnectionSettingsError, local_security, resolve_security
from streams.kafka.local_security import LocalSecurity
from streams.settings import Settings


def test_plaintext_by_default() -> None:
    assert resolve_security(Settings()).aiokafka_options() == {"security_protocol": "PLAINTEXT"}


def test_the_secured_local_broker_is_the_default_with_broker_secure(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, broker_secure=True)
    local_security(settings).ensure(settings.broker_host)
    security = resolve_security(settings)
    assert (security.protocol, security.mechanism, security.username) == (
        "SASL_SSL",
        "SCRAM-SHA-512",
        "timeline",
    )
    assert security.password == local_security(settings).password("timeline")
    assert security.ssl_context is not None and security.ssl_context.check_hostname


def test_the_password_comes_from_a_file_then_a_named_variable_then_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-file\n")
    monkeypatch.setenv("MY_KAFKA_PASSWORD", "from-variable")
    base = {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u", "sasl_password": "from-setting"}
    assert resolve_security(Settings(**base)).password == "from-setting"
    named = Settings(**base, sasl_password_env="MY_KAFKA_PASSWORD")
    assert resolve_security(named).password == "from-variable"
    both = Settings(**base, sasl_password_env="MY_KAFKA_PASSWORD", sasl_password_file=secret)
    assert resolve_security(both).password == "from-file"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"security_protocol": "SASL_SSL"}, "needs TIMELINE_SASL_USERNAME"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u"}, "SASL needs a password"),
        ({"security_protocol": "SSL", "ssl_cafile": "/nonexistent/ca.pem"}, "TIMELINE_SSL_CAFILE: no file"),
        ({"security_protocol": "SSL", "ssl_keyfile": "/tmp/key.pem"}, "go together"),
        (
            {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u", "sasl_password_env": "NOT_SET_XYZ"},
            "NOT_SET_XYZ, which is not set",
        ),
    ],
)
def test_settings_that_cannot_work_name_the_setting(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConnectionSettingsError, match=message):
        resolve_security(Settings(**overrides))  # type: ignore[arg-type]


def test_the_local_ca_signs_a_broker_certificate_for_loopback(tmp_path: Path) -> None:
    files = LocalSecurity(tmp_path / "security")
    files.ensure("127.0.0.1")
    ca = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
    broker = x509.load_pem_x509_certificates(files.broker_pem.read_bytes())[0]
    broker.verify_directly_issued_by(ca)
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    for private in (files.broker_pem, files.password_file("timeline"), files.password_file("broker")):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    before = files.password("timeline")
    files.ensure("127.0.0.1")
    assert files.password("timeline") == before  # kept: the users are made once, at format time


def test_the_secured_broker_listens_only_with_sasl_ssl_and_makes_both_users(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, broker_secure=True)
    files = local_security(settings)
    files.ensure(settings.broker_host)
    properties = dict(
        line.split("=", 1)
        for line in server_properties(settings, tmp_path, files).splitlines()
        if "=" in line
    )
    assert properties["listeners"] == "SASL_SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert properties["inter.broker.listener.name"] == "SASL_SSL"
    assert properties["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL"
    assert [argument.split("[")[1].split(",")[0] for argument in scram_arguments(files)] == [
        "name=broker",
        "name=timeline",
    ]
    assert settings.broker_dir == (tmp_path / "kafka-secure").absolute()


def test_a_password_file_loses_only_its_line_end(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("  spaced pass \n", "utf-8")
    base = {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u", "sasl_password_file": secret}
    assert resolve_security(Settings(**base)).password == "  spaced pass "
    secret.write_text("windows\r\n", "utf-8")
    assert resolve_security(Settings(**base)).password == "windows"


async def test_a_client_whose_start_fails_is_closed_before_the_error_is_raised() -> None:
    from streams.kafka.connection import start_or_close

    class Client:
        stopped = False

        async def start(self) -> None:
            raise ConnectionError("no broker at 127.0.0.1:1")

        async def stop(self) -> None:
            self.stopped = True

    client = Client()
    with pytest.raises(ConnectionError, match="no broker"):
        await start_or_close(client)
    assert client.stopped
