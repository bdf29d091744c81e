"""A TLS front for a plain HTTP server on loopback, standing in for Slack's distance.

It terminates TLS with a self-signed certificate (made by openssl) and relays bytes to the
upstream server, adding `delay` seconds per round trip: one for the TCP handshake and one
for TLS 1.3's on each new connection, and one before each request goes upstream. It counts
the connections it accepted, which is what keep-alive is about (tests/test_slack_keepalive.py,
bench/keepalive.py). 127.0.0.1 only; its threads end when their sockets close.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "proxy.crt", folder / "proxy.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class TlsProxy:
    def __init__(self, upstream: tuple[str, int], folder: Path, delay: float = 0.02) -> None:
        self.upstream = upstream
        self.delay = delay
        self.cert, key = self_signed(folder)
        self._server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_tls.load_cert_chain(self.cert, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, name="tls-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def client_tls(self) -> ssl.SSLContext:
        """A client context that trusts this proxy's certificate."""
        return ssl.create_default_context(cafile=str(self.cert))

    def reset(self) -> None:
        with self._lock:
            self.accepted = 0

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.close()

    def __enter__(self) -> TlsProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.accepted += 1
                self._open.append(raw)
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        time.sleep(2 * self.delay)  # TCP's handshake and TLS 1.3's: a round trip each
        try:
            client = self._server_tls.wrap_socket(raw, server_side=True)
            upstream = socket.create_connection(self.upstream, timeout=30)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            raw.close()
            return
        with self._lock:
            self._open += [client, upstream]
        answered = threading.Event()
        answered.set()  # the next bytes from the client start a request
        threading.Thread(
            target=self._relay, args=(upstream, client, answered, False), daemon=True
        ).start()
        self._relay(client, upstream, answered, True)

    def _relay(
        self, source: socket.socket, sink: socket.socket, answered: threading.Event, up: bool
    ) -> None:
        try:
            while data := source.recv(65536):
                if up and answered.is_set():
                    answered.clear()
                    time.sleep(self.delay)  # a request's way there and its answer's back
                elif not up:
                    answered.set()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
