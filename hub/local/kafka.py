"""A local single-node Apache Kafka broker in KRaft mode, run from jars fetched with Maven.

Layout under ``<state_dir>/kafka``::

    libs-<version>/    the broker's jars (fetched once from Maven Central, then reused)
    data/              KRaft metadata and topic logs (formatted once)
    cluster.id         the cluster id the data folder was formatted with
    server.properties  generated on every start from the settings
    broker.log         the broker's own log (log4j2), failed logins included
    authorizer.log     every operation the ACLs refused (principal, operation, resource, host)
    broker.pid         pid of the running broker

Two client listeners: PLAINTEXT on loopback for the hub's own processes (their principal,
``User:ANONYMOUS``, is the broker's super user), and SASL/SCRAM-SHA-512 for the tenants (ports and
customs authorities), whose every operation is checked against the ACLs that ``hub tenants``
writes; with no ACL, nothing is allowed.

Start, stop and status are idempotent: a broker already running from this folder is reused,
never started twice; a port held by another process or a data folder formatted by someone else
stops with one line that says so.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from hub.errors import BrokerError
from hub.local.process import (
    command_line,
    exclusive_lock,
    pid_alive,
    port_answers,
    port_is_free,
    quiet_logger,
    read_pid,
    run_tool,
    say,
    tail,
    terminate,
)

KAFKA_VERSION = "4.1.1"
POM_FILE = Path(__file__).resolve().parent / "kafka-pom.xml"
BROKER_MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL_CLASS = "kafka.tools.StorageTool"
READY_TIMEOUT_S = 90.0
# The broker answers its port a few seconds before it can serve a produce; probing a real
# round trip avoids the first client of the hub racing the group coordinator's start.
READINESS_TOPIC = "hub.readiness"
TENANT_LISTENER = "TENANTS"
TENANT_SASL_MECHANISM = "SCRAM-SHA-512"
# The principal of a PLAINTEXT (loopback-only) connection: the hub's own processes.
HUB_PRINCIPAL = "User:ANONYMOUS"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    detail: str


class LocalKafka:
    """Fetches, formats, starts and stops the local broker under ``state_dir/kafka``."""

    def __init__(
        self,
        state_dir: Path,
        port: int = 9092,
        controller_port: int = 9093,
        heap_mb: int = 512,
        tenant_port: int = 9094,
        tenant_host: str = "127.0.0.1",
    ) -> None:
        # Resolved: the broker's settings name its data folder, and the same folder reached
        # through a symlink (a second checkout sharing .hub) must not read as other settings.
        self.home = state_dir.resolve() / "kafka"
        self.port = port
        self.controller_port = controller_port
        self.tenant_port = tenant_port
        self.tenant_host = tenant_host
        self.heap_mb = heap_mb
        self.libs = self.home / f"libs-{KAFKA_VERSION}"
        self.data = self.home / "data"
        self.cluster_id_file = self.home / "cluster.id"
        self.properties = self.home / "server.properties"
        self.log4j_config = self.home / "log4j2.yaml"
        self.log_file = self.home / "broker.log"
        self.authorizer_log = self.home / "authorizer.log"
        self.pid_file = self.home / "broker.pid"
        # The broker this object launched, kept so that it is reaped, not dropped while it runs
        # (Python warns of a running child whose Popen is collected). Stopping goes by the pid
        # file, which also covers a broker an earlier process started.
        self._launched: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def tenant_bootstrap(self) -> str:
        """Where tenants connect, with SASL/SCRAM."""
        return f"{self.tenant_host}:{self.tenant_port}"

    # -- public operations -------------------------------------------------------------

    async def start(self) -> bool:
        """Start the broker unless this folder's broker already runs; wait until it serves.

        Returns:
            True when this call started the broker, False when it was already running.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        # Two `hub` commands starting at once must not launch two brokers on one folder.
        with exclusive_lock(self.home / ".start.lock"):
            pid = self._running_pid()
            if pid is not None and self._config_changed():
                raise BrokerError(
                    f"the Kafka broker running from {self.home} (pid {pid}) was started with "
                    "other settings (ports or listeners); stop it (`hub services stop`) and start "
                    "again"
                )
            if pid is None:
                # Cheap checks first: a taken port or a stale folder fails before any download.
                self._check_ports_free()
                self._check_data_folder()
                await asyncio.to_thread(self._fetch_jars)
                self._write_config()
                await asyncio.to_thread(self._format_storage_once)
                pid = self._launch()
                started = True
            else:
                log.info("Kafka broker already running (pid %d) on %s", pid, self.bootstrap)
                started = False
        await self._wait_ready(pid)
        return started

    def stop(self) -> bool:
        """Stop this folder's broker. Returns True if one was running."""
        pid = self._running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        say(f"stopping the Kafka broker (pid {pid})")
        terminate(pid, grace_s=30.0)
        if self._launched is not None and self._launched.pid == pid:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._launched.wait(timeout=30)  # dead or killed by now: this reaps it
            self._launched = None
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> BrokerStatus:
        pid = self._running_pid()
        if pid is None:
            return BrokerStatus(False, None, self.bootstrap, "not running")
        return BrokerStatus(True, pid, self.bootstrap, f"running, log {self.log_file}")

    # -- steps ------------------------------------------------------------------------------

    def _running_pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        if pid is None or not pid_alive(pid):
            return None
        # A recycled pid belongs to some other program: not our broker.
        if BROKER_MAIN_CLASS not in command_line(pid):
            return None
        return pid

    def _fetch_jars(self) -> None:
        marker = self.libs / ".complete"
        if marker.exists():
            return
        for tool in ("java", "mvn"):
            if shutil.which(tool) is None:
                raise BrokerError(
                    f"`{tool}` is not on PATH: the local Kafka broker needs Java 17+ and Maven "
                    "(or set HUB_KAFKA_BOOTSTRAP to an existing cluster)"
                )
        staging = self.home / f".libs-{KAFKA_VERSION}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        say(f"fetching Apache Kafka {KAFKA_VERSION} jars with Maven (first start only)...")
        began = time.monotonic()
        run_tool(
            ["mvn", "-q", "-B", "-f", str(POM_FILE), "dependency:copy-dependencies",
             f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
            BrokerError,
            f"Maven could not fetch Kafka {KAFKA_VERSION}",
        )  # fmt: skip
        shutil.rmtree(self.libs, ignore_errors=True)
        staging.rename(self.libs)
        marker.write_text(KAFKA_VERSION)
        size_mb = sum(p.stat().st_size for p in self.libs.glob("*.jar")) / 2**20
        say(
            f"Kafka jars ready in {self.libs} ({size_mb:.0f} MiB, {time.monotonic() - began:.0f} s)"
        )

    def _check_ports_free(self) -> None:
        for name, port in (("HUB_KAFKA_PORT", self.port),
                           ("HUB_KAFKA_CONTROLLER_PORT", self.controller_port),
                           ("HUB_KAFKA_TENANT_PORT", self.tenant_port)):  # fmt: skip
            if not port_is_free(port):
                raise BrokerError(
                    f"port {port} ({name}) on 127.0.0.1 is already in use by another process; "
                    f"stop it or set {name} to a free port"
                )

    def _config_changed(self) -> bool:
        try:
            return self.properties.read_text() != self._server_properties()
        except OSError:
            return True

    def _server_properties(self) -> str:
        tenants = TENANT_LISTENER
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port},"
                f"{tenants}://{self.tenant_host}:{self.tenant_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port},"
                f"{tenants}://{self.tenant_host}:{self.tenant_port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,"
                f"{tenants}:SASL_PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"listener.name.{tenants.lower()}.sasl.enabled.mechanisms={TENANT_SASL_MECHANISM}",
                f"listener.name.{tenants.lower()}.{TENANT_SASL_MECHANISM.lower()}.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                # Tenants may do exactly what their ACLs allow; the hub's loopback processes
                # (and the controller, on its loopback listener) everything.
                "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                f"super.users={HUB_PRINCIPAL}",
                "allow.everyone.if.no.acl.found=false",
                f"log.dirs={self.data}",
                # Topics are created by the hub with their intended partitions; a typo in
                # a topic name must fail, not silently create a new topic.
                "auto.create.topics.enable=false",
                "num.partitions=6",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "log.retention.hours=168",
                "",
            ]
        )

    def _write_config(self) -> None:
        self.properties.write_text(self._server_properties())
        # Refused operations go to their own file, which an operator (and the tenant matrix
        # test) reads to see who tried what.
        self.log4j_config.write_text(
            "Configuration:\n"
            "  Appenders:\n"
            "    Console:\n"
            "      name: STDOUT\n"
            "      PatternLayout:\n"
            '        Pattern: "[%d] %p %m (%c)%n"\n'
            "    File:\n"
            "      name: AUTHORIZER\n"
            f"      fileName: {self.authorizer_log}\n"
            "      PatternLayout:\n"
            '        Pattern: "[%d] %p %m%n"\n'
            "  Loggers:\n"
            "    Root:\n"
            "      level: INFO\n"
            "      AppenderRef:\n"
            "        - ref: STDOUT\n"
            "    Logger:\n"
            "      - name: kafka.authorizer.logger\n"
            "        level: INFO\n"
            "        additivity: false\n"
            "        AppenderRef:\n"
            "          - ref: AUTHORIZER\n"
        )

    def _check_data_folder(self) -> None:
        meta = self.data / "meta.properties"
        if meta.exists():
            formatted_id = _property(meta, "cluster.id")
            expected_id = self._read_cluster_id()
            if expected_id is None or formatted_id != expected_id:
                raise BrokerError(
                    f"stale Kafka data folder {self.data}: formatted for cluster "
                    f"{formatted_id!r}, expected {expected_id!r}; remove it "
                    "(`hub services reset`) to start with an empty broker"
                )
        elif self.data.exists() and any(self.data.iterdir()):
            raise BrokerError(
                f"stale Kafka data folder {self.data}: it has files but no meta.properties; "
                "remove it (`hub services reset`) to start with an empty broker"
            )

    def _format_storage_once(self) -> None:
        if (self.data / "meta.properties").exists():
            return
        cluster_id = self._new_cluster_id()
        run_tool(
            ["java", "-cp", f"{self.libs}/*", STORAGE_TOOL_CLASS, "format",
             "-t", cluster_id, "-c", str(self.properties)],
            BrokerError,
            f"formatting Kafka storage in {self.data} failed",
        )  # fmt: skip

    def _read_cluster_id(self) -> str | None:
        try:
            return self.cluster_id_file.read_text().strip() or None
        except OSError:
            return None

    def _new_cluster_id(self) -> str:
        # KRaft wants a base64url-encoded 16-byte id, the form StorageTool random-uuid prints.
        # Like Kafka's own Uuid.randomUuid, never one starting with "-": the storage tool would
        # take it for an option.
        cluster_id = "-"
        while cluster_id.startswith("-"):
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.cluster_id_file.write_text(cluster_id)
        return cluster_id

    def _launch(self) -> int:
        log_handle = self.log_file.open("ab")
        process = subprocess.Popen(
            [
                "java",
                f"-Xmx{self.heap_mb}m",
                f"-Xms{min(self.heap_mb, 256)}m",
                "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.log4j_config}",
                "-cp",
                f"{self.libs}/*",
                BROKER_MAIN_CLASS,
                str(self.properties),
            ],
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal reaches the hub, which stops us.
        )
        log_handle.close()
        self._launched = process
        self.pid_file.write_text(str(process.pid))
        say(
            f"Kafka {KAFKA_VERSION} starting on {self.bootstrap} (tenants: SASL/SCRAM on "
            f"{self.tenant_bootstrap}; pid {process.pid}, log {self.log_file})"
        )
        return process.pid

    async def _wait_ready(self, pid: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                raise BrokerError(
                    f"Kafka broker exited during start: {self._last_log_error()} "
                    f"(log {self.log_file})"
                )
            if not port_answers(self.port):
                await asyncio.sleep(0.5)
                continue
            try:
                with quiet_logger("aiokafka"):
                    await probe_round_trip(self.bootstrap, READINESS_TOPIC)
                return
            except Exception as error:  # any failure means "not ready yet"
                last_error = f"{type(error).__name__}: {error}"
            await asyncio.sleep(0.5)
        raise BrokerError(
            f"Kafka broker on {self.bootstrap} not ready after {READY_TIMEOUT_S:.0f} s "
            f"({last_error}); log {self.log_file}"
        )

    def _last_log_error(self) -> str:
        lines = tail(self.log_file, 200)
        for line in reversed(lines):
            if " ERROR " in line or "Exception" in line:
                return line.strip()[:300]
        return lines[-1].strip()[:300] if lines else "no log output"


async def probe_round_trip(bootstrap: str, topic: str, timeout_s: float = 10.0) -> None:
    """Produce one record to ``topic`` and read it back; raises if the broker cannot serve."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    from hub.kafka_topics import create_topics

    await create_topics(bootstrap, {topic: 1})
    marker = uuid.uuid4().bytes
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await producer.start()
    try:
        sent = await asyncio.wait_for(producer.send_and_wait(topic, marker), timeout_s)
    finally:
        await producer.stop()
    # In a group, committing what it read: a fresh broker creates its offsets topic on the first
    # group request, and the hub's consumers must not start before that is done.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=topic, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, sent.partition)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        record = await asyncio.wait_for(consumer.getone(), timeout_s)
        if record.value != marker:
            raise BrokerError(f"readiness probe read back a different record from {topic}")
        await asyncio.wait_for(consumer.commit({partition: sent.offset + 1}), timeout_s)
    finally:
        await consumer.stop()


def _property(path: Path, key: str) -> str | None:
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            return value.strip()
    return None
