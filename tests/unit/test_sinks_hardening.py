"""The sinks' edges, against real loopback servers: signatures, redirects, redaction, SMTP TLS, files."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
import stat
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scheduler.ledger import Ledger
from scheduler.runner import run_subscription
from scheduler.sinks import FileSink, SinkError, SmtpSink, WebhookSink, describe_failure
from scheduler.subscriptions_file import save_subscriptions
from schemas.digests import Digest
from schemas.stances import StanceChange
from schemas.subscriptions import DigestSubscription, SinkConfig
from streams.cli.entry import main
from streams.clients.webhooks import signature, verify_signature
from streams.settings import Settings

START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
DIGEST = Digest(
    digest_id="dig-edge",
    subscription_id="edge",
    window_start=START,
    window_end=START + dt.timedelta(hours=1),
    generated_at=START + dt.timedelta(hours=1),
    text="Digest edge: 0 stance changes\n",
    markdown="# Digest edge\n",
    html="<p>Digest edge</p>",
)
TOKEN = "tok-9f8e7d"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Hook:
    """A loopback webhook: records each request; /moved redirects, /broken answers 500."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes, dict[str, str]]] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, await request.read(), dict(request.headers)))
        if request.path.startswith("/moved"):
            raise web.HTTPTemporaryRedirect(f"http://127.0.0.1:{request.url.port}/elsewhere?{TOKEN}")
        if request.path.startswith("/broken"):
            return web.Response(status=500, text="down")
        return web.Response(status=204)


@pytest.fixture
async def hook() -> Any:
    receiver = Hook()
    server = TestServer(receiver.app, host="127.0.0.1")
    await server.start_server()
    receiver.url = str(server.make_url(""))  # type: ignore[attr-defined]
    yield receiver
    await server.close()


async def test_a_signed_post_verifies_with_the_receivers_helper_and_not_once_altered(hook: Any) -> None:
    await WebhookSink(SinkConfig(kind="webhook", target=f"{hook.url}/hook", secret="k3y")).deliver(DIGEST)
    [(_, body, headers)] = hook.requests
    stamp, signed = headers["X-Timeline-Timestamp"], headers["X-Timeline-Signature"]
    assert signed.startswith("sha256=") and abs(int(stamp) - dt.datetime.now(dt.UTC).timestamp()) < 60
    assert verify_signature("k3y", body, stamp, signed)
    assert not verify_signature("k3y", body + b" ", stamp, signed)
    assert not verify_signature("k3y", body, str(int(stamp) + 1), signed)  # the timestamp is signed too
    assert not verify_signature("other", body, stamp, signed)
    assert not verify_signature("k3y", body, stamp, signed, now=int(stamp) + 301)  # a replay, later
    assert verify_signature("k3y", body, stamp, signed, now=int(stamp) + 299)
    assert not verify_signature("k3y", body, "soon", signed)
    assert not verify_signature("k3y", body, None, signed)
    assert signed == signature("k3y", body, stamp)
    with pytest.raises(ValueError, match="empty"):
        verify_signature("", body, stamp, signed)


async def test_a_redirect_is_a_failure_naming_status_and_redacted_location_and_is_not_followed(
    hook: Any,
) -> None:
    with pytest.raises(SinkError) as failure:
        await WebhookSink(SinkConfig(kind="webhook", target=f"{hook.url}/moved")).deliver(DIGEST)
    assert "307" in str(failure.value) and "http://127.0.0.1/…" in str(failure.value)
    assert TOKEN not in str(failure.value)
    assert [path for path, _, _ in hook.requests] == ["/moved"]  # /elsewhere got no GET, nor anything


async def test_secret_env_is_read_at_send_time_and_unset_means_no_send(
    hook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = WebhookSink(SinkConfig(kind="webhook", target=f"{hook.url}/hook", secret_env="EDGE_HOOK_KEY"))
    monkeypatch.delenv("EDGE_HOOK_KEY", raising=False)
    with pytest.raises(SinkError, match="EDGE_HOOK_KEY is unset or empty"):
        await sink.deliver(DIGEST)
    assert hook.requests == []
    monkeypatch.setenv("EDGE_HOOK_KEY", "from-env")
    await sink.deliver(DIGEST)
    [(_, body, headers)] = hook.requests
    assert verify_signature(
        "from-env", body, headers["X-Timeline-Timestamp"], headers["X-Timeline-Signature"]
    )


def test_sink_configs_are_refused_with_a_clear_reason() -> None:
    cases = {
        "a file sink needs a folder": {"kind": "file"},
        "port 'abc' is not a number": {"kind": "smtp", "target": "mail.example.org:abc/me@example.org"},
        "needs host:port/to@address": {"kind": "smtp", "target": "mail.example.org:25/nobody"},
        "http or https URL": {"kind": "webhook", "target": f"ftp://example.org/{TOKEN}"},
        "takes no target": {"kind": "topic", "target": "my-topic"},
        "empty webhook secret": {"kind": "webhook", "target": "https://example.org/h", "secret": ""},
        "not both": {"kind": "webhook", "target": "https://x.org/h", "secret": "a", "secret_env": "B"},
        "not an environment variable name": {
            "kind": "webhook",
            "target": "https://x.org",
            "secret_env": "1-",
        },
    }
    for reason, document in cases.items():
        with pytest.raises(ValueError, match=reason):
            SinkConfig.model_validate(document)
    assert SinkConfig(
        kind="smtp", target="mail.example.org/me@example.org"
    ).target  # the port may be left out


def run_cli(home: Path, *args: str, **env: str) -> Any:
    return CliRunner().invoke(main, ["digest", *args], env={"TIMELINE_HOME": str(home), **env})


def test_digest_add_refuses_bad_sinks_warns_about_secret_and_keeps_only_the_env_name(tmp_path: Path) -> None:
    for sink, reason in [
        ("file", "a file sink needs a folder"),
        ("smtp:HOST:abc/to@example.org", "port 'abc'"),
        (f"webhook:ftp://example.org/{TOKEN}", "http or https"),
    ]:
        refused = run_cli(tmp_path, "add", "bad", "--every", "1h", "--sink", sink)
        assert refused.exit_code == 2 and reason in refused.stderr and TOKEN not in refused.output
    assert not (tmp_path / "digests.yaml").exists()
    url = f"https://hooks.example.org/services/{TOKEN}?key={TOKEN}"
    secret = run_cli(tmp_path, "add", "inline", "--every", "1h", "--sink", f"webhook:{url}", "--secret", "k")
    assert secret.exit_code == 0 and "warning: --secret shows in the process list" in secret.stderr
    named = run_cli(
        tmp_path, "add", "named", "--every", "1h", "--sink", "file:out", "--sink", f"webhook:{url}",
        "--secret-env", "HOOK_KEY", HOOK_KEY="k",
    )  # fmt: skip
    assert named.exit_code == 0 and "warning" not in named.stderr, named.stderr
    stored = yaml.safe_load((tmp_path / "digests.yaml").read_text())["subscriptions"]
    assert stored[1]["sinks"] == [
        {"kind": "file", "target": "out"},
        {"kind": "webhook", "target": url, "secret_env": "HOOK_KEY"},
    ]
    listed = run_cli(tmp_path, "list")
    assert listed.exit_code == 0 and TOKEN not in listed.output
    assert "named: every 3600s (UTC) -> file:out, webhook:https://hooks.example.org/…" in listed.output
    lonely = run_cli(tmp_path, "add", "x", "--every", "1h", "--sink", "file:out", "--secret-env", "K")
    assert lonely.exit_code == 2 and "sign webhooks" in lonely.stderr


def test_the_subscriptions_file_is_written_0600_atomically(tmp_path: Path) -> None:
    path = tmp_path / "digests.yaml"
    path.write_text("subscriptions: []\n")
    path.chmod(0o644)
    subscription = DigestSubscription.model_validate(
        {"id": "s", "schedule": {"kind": "interval", "seconds": 60}, "sinks": [{"kind": "stdout"}]}
    )
    save_subscriptions(path, [subscription])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["digests.yaml"]  # no temporary file left
    assert yaml.safe_load(path.read_text())["subscriptions"][0]["id"] == "s"


async def test_a_failed_file_write_leaves_no_partial_file(tmp_path: Path) -> None:
    sink = FileSink(SinkConfig(kind="file", target=str(tmp_path)))
    sink.path_for(DIGEST).mkdir()  # the final name is taken by a folder: the rename fails
    with pytest.raises(OSError):
        await sink.deliver(DIGEST)
    assert [p.name for p in tmp_path.iterdir()] == [sink.path_for(DIGEST).name]
    sink.path_for(DIGEST).rmdir()
    await sink.deliver(DIGEST)
    assert [p.name for p in tmp_path.iterdir()] == [sink.path_for(DIGEST).name]


async def no_changes(_settings: Settings, _start: dt.datetime, _end: dt.datetime) -> list[StanceChange]:
    return []


async def test_a_sink_that_cannot_be_built_fails_alone_and_urls_stay_out_of_logs(
    tmp_path: Path, hook: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(home=tmp_path, sink_attempts=1, smtp_username="digests")  # no password file
    subscription = DigestSubscription.model_validate(
        {
            "id": "edge",
            "schedule": {"kind": "interval", "seconds": 3600},
            "start": "2025-01-01T00:00:00Z",
            "sinks": [
                {"kind": "file", "target": str(tmp_path / "out")},
                {"kind": "smtp", "target": "127.0.0.1:1/me@example.org"},
                {"kind": "webhook", "target": f"{hook.url}/broken/{TOKEN}"},
            ],
        }
    )
    ledger = Ledger(tmp_path / "ledger.sqlite")
    caplog.set_level(logging.WARNING, "scheduler.runner")
    report = await run_subscription(
        settings, subscription, ledger, no_changes, now=dt.datetime(2025, 1, 1, 1, 5, tzinfo=dt.UTC)
    )
    [digest] = report.built
    assert report.delivered == [(digest.digest_id, f"file:{tmp_path / 'out'}")]
    assert len(list((tmp_path / "out").iterdir())) == 1
    failed = {sink_id.split(":")[0]: error for _, sink_id, error in report.failed}
    assert "cannot set up the sink" in failed["smtp"] and "go together" in failed["smtp"]
    assert failed["webhook"] == "SinkError: webhook answered 500: down"
    recorded = ledger.connection.execute("SELECT sink_id, attempts FROM failures").fetchall()
    assert sorted(row[0].split(":")[0] for row in recorded) == ["smtp", "webhook"]
    ledger.close()
    assert "http://127.0.0.1/…" in caplog.text and TOKEN not in caplog.text
    config = SinkConfig(kind="webhook", target=f"http://127.0.0.1:9/a/{TOKEN}?b={TOKEN}")
    scrubbed = describe_failure(ConnectionError(f"refused by {config.target}"), config)
    assert scrubbed == "ConnectionError: refused by http://127.0.0.1/…"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key: the client trusts it via SSL_CERT_FILE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder / "cert.pem", folder / "key.pem"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def authenticate(
        self, server: object, session: object, envelope: object, mechanism: str, data: Any
    ) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"digests", b"pa55")
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself


@pytest.fixture
def smtp_server(
    request: pytest.FixtureRequest, tls_files: tuple[Path, Path]
) -> Iterator[tuple[int, Mailbox]]:
    """aiosmtpd on loopback: plain, STARTTLS required before AUTH, or TLS from the first byte."""
    mode: str = request.param
    mailbox, tls = Mailbox(), ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*tls_files)
    options: dict[str, Any] = {
        "none": {},
        "starttls": {"tls_context": tls, "require_starttls": True, "auth_required": True},
        "tls": {"ssl_context": tls, "auth_required": True, "auth_require_tls": False},
    }[mode]
    if mode != "none":
        options["authenticator"] = mailbox.authenticate
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    yield controller.port, mailbox
    controller.stop()


@pytest.mark.parametrize("smtp_server", ["none", "starttls", "tls"], indirect=True)
async def test_smtp_sends_plain_with_starttls_and_with_tls_logging_in_with_the_password_file(
    smtp_server: tuple[int, Mailbox],
    request: pytest.FixtureRequest,
    tls_files: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, mailbox = smtp_server
    security = request.node.callspec.params["smtp_server"]
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[0]))
    password = tmp_path / "smtp-password"
    login = {"smtp_username": "digests", "smtp_password_file": password} if security != "none" else {}
    settings = Settings(home=tmp_path, smtp_security=security, **login)
    sink = SmtpSink(SinkConfig(kind="smtp", target=f"127.0.0.1:{port}/analyst@example.org"), settings)
    password.write_text("pa55\n")  # after the sink was built: read at send time
    await sink.deliver(DIGEST)
    assert [m["X-Timeline-Digest-Id"] for m in mailbox.messages] == ["dig-edge"]
    assert len(mailbox.logins) == (0 if security == "none" else 1)
    if security != "none":
        password.write_text("wrong\n")
        with pytest.raises(Exception, match="535"):
            await sink.deliver(DIGEST)
        assert len(mailbox.messages) == 1


def test_smtp_login_settings_are_checked_before_anything_is_sent(tmp_path: Path) -> None:
    target = SinkConfig(kind="smtp", target="127.0.0.1:25/me@example.org")
    missing = tmp_path / "absent"
    with pytest.raises(SinkError, match="go together"):
        SmtpSink(target, Settings(smtp_security="starttls", smtp_username="u"))
    with pytest.raises(SinkError, match="go together"):
        SmtpSink(target, Settings(smtp_security="tls", smtp_password_file=missing))
    with pytest.raises(SinkError, match="in clear"):
        SmtpSink(target, Settings(smtp_username="u", smtp_password_file=missing))  # security "none"
    sink = SmtpSink(target, Settings(smtp_security="tls", smtp_username="u", smtp_password_file=missing))
    with pytest.raises(SinkError, match=f"cannot read TIMELINE_SMTP_PASSWORD_FILE {missing}"):
        sink.password()
