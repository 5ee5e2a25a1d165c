"""The secured local broker's files: a CA, the broker's certificate, and SCRAM passwords.

Made once per broker directory with the `cryptography` package and kept
there (private files 0600), so that clients can trust the CA the broker
presents. The CA signs for 127.0.0.1 and localhost only: it is a loopback
test CA, not one to trust anywhere else.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CLIENT_USER = "timeline"
"""The SCRAM user the project's clients log in as."""
BROKER_USER = "broker"
"""The SCRAM user the broker logs in to itself as (its inter-broker listener)."""
MECHANISM = "SCRAM-SHA-512"
VALID_DAYS = 825


@dataclass(frozen=True)
class LocalSecurity:
    """Where the secured local broker keeps its CA, key store and passwords."""

    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def broker_pem(self) -> Path:
        """The broker's private key (PKCS#8) and certificate chain, Kafka's PEM key store."""
        return self.directory / "broker.pem"

    def password_file(self, user: str) -> Path:
        return self.directory / f"{user}.password"

    def password(self, user: str) -> str:
        return self.password_file(user).read_text("utf-8").strip()

    def ensure(self, host: str) -> None:
        """Make whatever is missing: the CA and broker certificate, then each user's password."""
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        if not (self.ca_file.exists() and self.broker_pem.exists()):
            ca_pem, broker_pem = _certificates(host)
            _write_private(self.broker_pem, broker_pem)
            self.ca_file.write_bytes(ca_pem)
        for user in (CLIENT_USER, BROKER_USER):
            if not self.password_file(user).exists():
                _write_private(self.password_file(user), secrets.token_urlsafe(24).encode() + b"\n")


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "diplomatic-timeline local broker"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
    )


def _certificates(host: str) -> tuple[bytes, bytes]:
    """A fresh CA, and a broker certificate it signs for `host`, 127.0.0.1 and localhost."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("diplomatic-timeline local CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for address in {host, "127.0.0.1"}:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            names.append(x509.DNSName(address))
    broker_cert = (
        _builder(_name("diplomatic-timeline broker"), ca_name, broker_key)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    broker_key_pem = broker_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    chain = broker_cert.public_bytes(pem) + ca_cert.public_bytes(pem)
    return ca_cert.public_bytes(pem), broker_key_pem + chain
