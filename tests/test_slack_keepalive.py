"""Web API calls reuse kept-alive connections (bot.slack.web_client): behind a TLS front
that adds 20 ms per round trip (bench/tls_proxy.py), an approval, its done and an import's
progress updates open at most one connection in the process, however many calls they make.
Real Redis, the bot over HTTP, the Slack stand-in behind the TLS proxy, the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.tls_proxy import TlsProxy
from bot.domain.bulk import ImportStatus
from bot.domain.requests import Status
from bot.local.stack import LocalStack
from tests.conftest import ALICE, BOB, ERIN, MANAGERS_GROUP, stack_settings, team
from tests.flows import JANE, file_request, wait_status
from tests.flows import click as click_request
from tests.import_flows import click, file_import, people_csv, wait_finished


@pytest.fixture
def proxied(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LocalStack, TlsProxy]]:
    proxies: list[TlsProxy] = []

    def via(api_url: str) -> str:
        parts = urlsplit(api_url)
        proxy = TlsProxy((str(parts.hostname), int(parts.port or 80)), tmp_path, delay=0.02)
        proxies.append(proxy)
        # Trusted the way a deployment trusts its own authority: the system's default
        # context (urllib's and ours) reads SSL_CERT_FILE.
        monkeypatch.setenv("SSL_CERT_FILE", str(proxy.cert))
        return f"{proxy.url}{parts.path}"

    stack = LocalStack(
        stack_settings(redis_url, import_progress_seconds=1.0, import_concurrency=2),
        team(),
        {MANAGERS_GROUP: [ERIN]},
        slack_via=via,
    ).start()
    try:
        yield stack, proxies[0]
    finally:
        stack.stop()
        for proxy in proxies:
            proxy.stop()


def test_an_approval_its_done_and_import_progress_share_one_connection(proxied):
    stack, proxy = proxied
    request = file_request(stack, ALICE, JANE)  # its calls may open the first connection
    stack.sandbox.faults.latency_ms = 100  # an import slow enough for progress updates
    upload = file_import(stack, ALICE, people_csv(30))
    calls_before = len(stack.standin.calls)
    proxy.reset()

    click_request(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE)
    click(stack, BOB, "Approve", upload)
    finished = wait_finished(stack, upload.id)

    assert finished.status is ImportStatus.DONE and finished.done == 30
    calls = stack.standin.calls[calls_before:]
    progress = [
        c for c in calls if c.method == "chat.update" and c.args.get("ts") == upload.message_ts
    ]
    assert len(progress) >= 2  # the progress, updated in place, then the result
    assert len(calls) >= 6
    assert proxy.accepted <= 1, f"{proxy.accepted} connections for {len(calls)} calls"
