"""Redis as deployed, started for tests on loopback from Debian's redis-server and
redis-cli (/usr/bin; .ci/run installs them): a Redis Cluster of 3 primaries with a replica
each, and 1 primary with 1 replica watched by 3 Sentinels. Every server runs in a temp
folder on free ports and is stopped by its PID; failover is fast on purpose
(cluster-node-timeout and down-after-milliseconds of 1 s).

`Topology.settings` are the Settings overrides that point the bot at it (REDIS_URL,
REDIS_MODE, REDIS_SENTINELS, REDIS_SENTINEL_MASTER)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.cluster import RedisCluster

from bot.storage.connection import RedisTarget, connect, parse_sentinels, primary_of

NODE_TIMEOUT_MS = 1000
MASTER = "cbmaster"


def binary(name: str) -> str:
    found = shutil.which(name, path="/usr/bin") or shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: apt-get install redis-server redis-tools")
    return found


def free_ports(count: int, bus: bool = False) -> list[int]:
    """`count` free loopback ports (with `bus`, port + 10000 free too: the cluster bus)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port in ports or (bus and (port + 10000 > 65535 or not _free(port + 10000))):
            continue
        ports.append(port)
    return ports


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = predicate()
            if found:
                return found
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


@dataclass
class Topology:
    mode: str
    url: str
    folder: Path
    sentinels: str = ""
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)  # port -> server

    @property
    def settings(self) -> dict[str, object]:
        values: dict[str, object] = {"redis_url": self.url, "redis_mode": self.mode}
        if self.mode == "sentinel":
            values.update(redis_sentinels=self.sentinels, redis_sentinel_master=MASTER)
        return values

    def target(self) -> RedisTarget:
        sentinels = parse_sentinels(self.sentinels) if self.sentinels else ()
        url = self.url
        if self.mode == "cluster":  # a seed node still alive (the first may be killed)
            live = [p for p, process in self.processes.items() if process.poll() is None]
            url = f"redis://127.0.0.1:{live[0]}"
        return RedisTarget(url, self.mode, sentinels, MASTER, socket_timeout=2.0)

    def client(self) -> redis.Redis:
        return connect(self.target())

    def primary(self, key: str) -> str:
        """host:port of the primary holding `key`."""
        client = self.client()
        try:
            return primary_of(client, key)
        finally:
            client.close()

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, decode_responses=True, socket_timeout=2)

    def flush(self) -> None:
        """Empty every primary (between tests)."""
        for port in self.primaries():
            node = self.node(port)
            node.flushall()
            node.close()

    def primaries(self) -> list[int]:
        found = []
        for port, process in self.processes.items():
            if process.poll() is not None or port in self._sentinel_ports():
                continue
            try:
                node = self.node(port)
                if node.info("replication")["role"] == "master":
                    found.append(port)
                node.close()
            except redis.RedisError:
                continue
        return found

    def _sentinel_ports(self) -> set[int]:
        return {port for _, port in parse_sentinels(self.sentinels)} if self.sentinels else set()

    def replica_of(self, primary: int) -> int:
        """The port of a live replica of the primary on `primary`."""
        for port, process in self.processes.items():
            if process.poll() is not None or port in self._sentinel_ports():
                continue
            node = self.node(port)
            try:
                info = node.info("replication")
            finally:
                node.close()
            if info["role"] == "slave" and int(info["master_port"]) == primary:
                return port
        raise LookupError(f"no replica of {primary}")

    def pause(self, port: int) -> None:
        """SIGSTOP the server on `port` (it replicates nothing until resumed)."""
        os.kill(self.processes[port].pid, signal.SIGSTOP)

    def resume(self, port: int) -> None:
        os.kill(self.processes[port].pid, signal.SIGCONT)

    def kill(self, port: int) -> None:
        """kill -9 the server on `port`."""
        process = self.processes[port]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(5)

    def wait_promoted(self, key: str, dead: str, timeout: float = 20.0) -> str:
        """Until a primary other than `dead` holds `key` and takes writes; its host:port."""

        def promoted() -> str | None:
            now = self.primary(key)
            if now == dead:
                return None
            node = self.node(int(now.rsplit(":", 1)[1]))
            try:
                if self.mode == "cluster":
                    return now if node.cluster("info").get("cluster_state") == "ok" else None
                return now if node.info("replication")["role"] == "master" else None
            finally:
                node.close()

        return wait_for(promoted, timeout, f"a new primary for {key}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _server(folder: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            binary("redis-server"),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(folder),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(folder / "redis.log"),
            *extra,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def _answers(port: int) -> bool:
    node = redis.Redis(port=port, socket_timeout=1)
    try:
        return bool(node.ping())
    finally:
        node.close()


def start_cluster(folder: Path) -> Topology:
    """3 primaries with 1 replica each, made with `redis-cli --cluster create`."""
    ports = free_ports(6, bus=True)
    topology = Topology("cluster", f"redis://127.0.0.1:{ports[0]}", folder)
    try:
        for port in ports:
            topology.processes[port] = _server(
                folder / str(port),
                port,
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                # a replica fails over however long its link was down: the primary is gone
                "--cluster-replica-validity-factor", "0",
            )  # fmt: skip
        for port in ports:
            wait_for(lambda port=port: _answers(port), 10, f"redis-server on {port}")
        subprocess.run(
            [binary("redis-cli"), "--cluster", "create"]
            + [f"127.0.0.1:{port}" for port in ports]
            + ["--cluster-replicas", "1", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=30,
        )

        def ready() -> bool:
            for port in ports:
                node = topology.node(port)
                try:
                    if node.cluster("info").get("cluster_state") != "ok":
                        return False
                finally:
                    node.close()
            client = RedisCluster(host="127.0.0.1", port=ports[0])
            try:
                replicas = [n for n in client.get_nodes() if n.server_type == "replica"]
                return len(replicas) == 3
            finally:
                client.close()

        wait_for(ready, 20, "the cluster ready")
    except BaseException:
        topology.stop()
        raise
    return topology


def start_sentinel(folder: Path) -> Topology:
    """1 primary, 1 replica, 3 Sentinels (quorum 2)."""
    primary, replica, *sentinels = free_ports(5)
    topology = Topology(
        "sentinel",
        "redis://",  # the Sentinels name the host; the URL gives scheme and database
        folder,
        sentinels=",".join(f"127.0.0.1:{port}" for port in sentinels),
    )
    try:
        topology.processes[primary] = _server(folder / "primary", primary)
        topology.processes[replica] = _server(
            folder / "replica", replica, "--replicaof", "127.0.0.1", str(primary)
        )
        for port in sentinels:
            conf = folder / f"sentinel-{port}" / "sentinel.conf"
            conf.parent.mkdir(parents=True)
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2\n"
                f"sentinel down-after-milliseconds {MASTER} {NODE_TIMEOUT_MS}\n"
                f"sentinel failover-timeout {MASTER} 5000\n"
                f"sentinel parallel-syncs {MASTER} 1\n"
            )
            topology.processes[port] = subprocess.Popen(
                [binary("redis-server"), str(conf), "--sentinel", "--daemonize", "no",
                 "--logfile", str(conf.parent / "sentinel.log")],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip

        def ready() -> bool:
            node = topology.node(replica)
            try:
                if node.info("replication").get("master_link_status") != "up":
                    return False
            finally:
                node.close()
            for port in sentinels:
                watcher = topology.node(port)
                try:
                    found = watcher.execute_command("SENTINEL", "SENTINELS", MASTER)
                    replicas = watcher.execute_command("SENTINEL", "REPLICAS", MASTER)
                    if len(found) < 2 or not replicas:
                        return False
                finally:
                    watcher.close()
            return True

        wait_for(ready, 30, "the Sentinels ready")
    except BaseException:
        topology.stop()
        raise
    return topology
