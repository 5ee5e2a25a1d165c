"""The local Apache Kafka broker: fetch its jars from Maven Central, format, start, stop.

No Docker engine is needed: the broker is `kafka.Kafka` from the
`org.apache.kafka:kafka_2.13` jar, run by the machine's Java 17 in KRaft mode
(one node that is broker and controller) on loopback. Ready means the log
line "Kafka Server started" and then a metadata round trip, not an open port.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from streams.kafka import connection
from streams.kafka.broker_config import scram_arguments, server_properties
from streams.kafka.connection import local_security
from streams.settings import Settings

READY_LINE = "Kafka Server started"


class BrokerError(RuntimeError):
    """The broker could not be fetched, started or reached; the message says why."""


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    log_file: Path


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        text = cmdline.read_bytes().replace(b"\0", b" ")
        return b"kafka.Kafka" in text and b"<defunct>" not in text
    return True


async def metadata_round_trip(settings: Settings, timeout: float = 10.0) -> int:
    """Ask the broker for cluster metadata; return the number of brokers it reports."""
    client = connection.client(settings, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        metadata = await asyncio.wait_for(client.fetch_all_metadata(), timeout)
        return len(metadata.brokers())
    finally:
        await client.close()


class LocalBroker:
    """One KRaft broker+controller whose files live under `settings.broker_dir`."""

    def __init__(self, settings: Settings, say: Callable[[str], None] = _say) -> None:
        self.settings = settings
        self.say = say
        self.directory = settings.broker_dir
        self.libs = settings.libs_dir
        self.data = self.directory / "data"
        self.config_file = self.directory / "server.properties"
        self.log_config = self.directory / "log4j2.properties"
        self.log_file = self.directory / "broker.log"
        self.pid_file = self.directory / "broker.pid"
        self.security = local_security(settings) if settings.broker_secure else None

    # -- jars -------------------------------------------------------------

    def jars_present(self) -> bool:
        return any(self.libs.glob("kafka_2.13-*.jar"))

    def fetch(self) -> None:
        """Download the broker's jars with Maven (once; later calls reuse them)."""
        if self.jars_present():
            return
        for tool in ("mvn", "java"):
            if shutil.which(tool) is None:
                raise BrokerError(f"'{tool}' is not on PATH: the local broker needs Java 17 and Maven")
        pom = resources.files("streams.kafka.broker_files").joinpath("pom.xml")
        staging = self.libs.with_name(self.libs.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self.say(f"fetching the Kafka broker jars from Maven Central into {self.libs} ...")
        with resources.as_file(pom) as pom_path:
            result = subprocess.run(
                [
                    "mvn",
                    "-B",
                    "-q",
                    "-f",
                    str(pom_path),
                    "dependency:copy-dependencies",
                    f"-DoutputDirectory={staging}",
                    "-DincludeScope=runtime",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            output = (result.stdout + result.stderr).strip()[-3000:]
            raise BrokerError(f"mvn could not fetch the broker jars (exit {result.returncode}):\n{output}")
        shutil.rmtree(self.libs, ignore_errors=True)
        staging.rename(self.libs)
        self.say(f"fetched {len(list(self.libs.glob('*.jar')))} jars")

    # -- configuration ----------------------------------------------------

    def cluster_id(self) -> str:
        """A fixed cluster id per broker directory (22-char base64url of 16 bytes)."""
        digest = hashlib.sha256(str(self.directory).encode()).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def server_properties(self) -> str:
        return server_properties(self.settings, self.data, self.security)

    def _write_config(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.security is not None:
            self.security.ensure(self.settings.broker_host)
        self.config_file.touch(mode=0o600)  # it holds the broker's own password when secured
        self.config_file.write_text(self.server_properties())
        log_config = resources.files("streams.kafka.broker_files").joinpath("log4j2.properties")
        self.log_config.write_text(log_config.read_text())

    def _java(self, main_class: str, *args: str, heap: str) -> list[str]:
        return [
            "java",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log_config}",
            "-cp",
            f"{self.libs}/*",
            main_class,
            *args,
        ]

    def _format(self) -> None:
        if (self.data / "meta.properties").exists():
            return
        self.data.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                # "=" keeps an id that starts with "-" from being read as an option
                f"--cluster-id={self.cluster_id()}",
                f"--config={self.config_file}",
                "--ignore-formatted",
                *scram_arguments(self.security),
                heap="256m",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(
                f"formatting the broker storage failed (exit {result.returncode}):\n"
                f"{(result.stdout + result.stderr).strip()[-3000:]}"
            )

    # -- lifecycle --------------------------------------------------------

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _process_alive(pid) else None

    def status(self) -> BrokerStatus:
        pid = self.pid()
        return BrokerStatus(pid is not None, pid, self.settings.bootstrap, self.log_file)

    def start(self) -> BrokerStatus:
        """Start the broker, or reuse the one already running from this directory."""
        running = self.pid()
        if running is not None:
            self._wait_metadata()
            self.say(f"broker already running (pid {running}) on {self.settings.bootstrap}")
            return self.status()
        for port in (self.settings.broker_port, self.settings.controller_port):
            if _port_is_open(self.settings.broker_host, port):
                raise BrokerError(
                    f"port {self.settings.broker_host}:{port} is already in use by another"
                    " process: stop it, or choose other ports with TIMELINE_BROKER_PORT and"
                    " TIMELINE_CONTROLLER_PORT"
                )
        self.fetch()
        self._write_config()
        self._format()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        heap = self.settings.broker_heap
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                self._java("kafka.Kafka", str(self.config_file), heap=heap),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        self.say(f"starting Kafka broker (pid {process.pid}) on {self.settings.bootstrap} ...")
        self._wait_ready(process, offset)
        self._wait_metadata()
        self.say(f"broker ready on {self.settings.bootstrap} (log: {self.log_file})")
        return self.status()

    def _log_since(self, offset: int) -> str:
        with self.log_file.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")

    def _wait_ready(self, process: subprocess.Popen[bytes], offset: int) -> None:
        deadline = time.monotonic() + self.settings.broker_start_timeout
        while time.monotonic() < deadline:
            text = self._log_since(offset)
            if READY_LINE in text:
                return
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise BrokerError(
                    f"the broker exited with code {process.returncode} before it was ready;"
                    f" last lines of {self.log_file}:\n{text.strip()[-3000:]}"
                )
            time.sleep(0.2)
        process.terminate()
        raise BrokerError(
            f"the broker did not log '{READY_LINE}' within"
            f" {self.settings.broker_start_timeout:.0f}s; see {self.log_file}"
        )

    def _wait_metadata(self) -> None:
        deadline = time.monotonic() + 30
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                if asyncio.run(metadata_round_trip(self.settings)) >= 1:
                    return
            except Exception as error:  # noqa: BLE001 - retried until the deadline, then reported
                last_error = error
            time.sleep(0.5)
        raise BrokerError(
            f"the broker logged it was ready but no metadata came back from"
            f" {self.settings.bootstrap}: {last_error!r}"
        )

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop with SIGTERM (a clean shutdown); return False if none was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _process_alive(pid):
                break
            _reap(pid)
            time.sleep(0.2)
        else:
            self.say(f"broker (pid {pid}) did not stop within {timeout:.0f}s; sending SIGKILL")
            os.kill(pid, signal.SIGKILL)
        _wait_reaped(pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL, for tests of crash recovery."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while _process_alive(pid):
                _reap(pid)
                time.sleep(0.1)
            _wait_reaped(pid)
        self.pid_file.unlink(missing_ok=True)


def _reap(pid: int) -> bool:
    """Collect our own child's exit status so it does not linger as a zombie.

    True when there is nothing left to collect: reaped now, or not our child.
    """
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return True


def _wait_reaped(pid: int, timeout: float = 10.0) -> None:
    """Wait until our exiting child is collected.

    A JVM drops its command line before it has finished exiting, so it can look
    stopped while `waitpid` has nothing to collect yet.
    """
    deadline = time.monotonic() + timeout
    while not _reap(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
