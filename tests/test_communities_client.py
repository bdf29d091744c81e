"""The Communities API client against the real sandbox over loopback HTTP and a real Redis."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import redis
from pydantic import SecretStr

from bot.communities import (
    AlreadyMember,
    AmbiguousCreate,
    AuthenticationFailed,
    CommunitiesClient,
    CommunityNotAvailable,
    InvalidRequest,
    NewMember,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Timeout,
    contract,
    install_log_filter,
)
from bot.runtime.communities import communities_client
from bot.runtime.settings import Settings
from bot.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]
COMMUNITY = "acme-employees"
OTHER_COMMUNITY = "acme-interns"
CLIENT_ID = "sandbox-client"
SECRET = "s3cret-Never-Log-Me-7f1c"  # distinctive, so a leak is easy to spot
EMAIL = "jane@example.com"
MEMBER_OPERATIONS = ("createMember", "getRemainingCredit", "deleteMember")

MakeClient = Callable[..., CommunitiesClient]


class RecordingTransport(httpx.HTTPTransport):
    """The real transport, keeping the bytes that went over the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.sent.append(request)
        return super().handle_request(request)


def start_sandbox(**options: object) -> SandboxServer:
    server = SandboxServer(
        communities=[(COMMUNITY, "Acme Employees"), (OTHER_COMMUNITY, "Acme Interns")],
        client_id=CLIENT_ID,
        client_secret=SECRET,
        **options,  # type: ignore[arg-type]
    )
    return server.start()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox()
    yield server
    server.stop()


@pytest.fixture
def make_client(sandbox: SandboxServer, redis_client: redis.Redis) -> Iterator[MakeClient]:
    made: list[CommunitiesClient] = []

    def make(server: SandboxServer | None = None, **overrides: object) -> CommunitiesClient:
        target = server or sandbox
        options: dict[str, object] = {
            "base_url": target.base_url,
            "token_url": target.token_url,
            "client_id": CLIENT_ID,
            "client_secret": SecretStr(SECRET),
            "company": "Acme",
            "redis": redis_client,
            "timeout": 5.0,
            "backoff_base": 0.01,
            "backoff_cap": 0.05,
        }
        options.update(overrides)
        client = CommunitiesClient(**options)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> CommunitiesClient:
    return make_client()


def jane(email: str = EMAIL, credit: Decimal = Decimal("750.00")) -> NewMember:
    return NewMember(
        email=email, first_name="Jane", last_name="Doe", credit=credit, external_reference="HR-1"
    )


def member_calls(server: SandboxServer) -> int:
    counts = server.state.operation_counts
    return sum(counts.get(operation, 0) for operation in MEMBER_OPERATIONS)


def set_faults(server: SandboxServer, **faults: object) -> None:
    for name, value in faults.items():
        setattr(server.faults, name, value)


# Operations --------------------------------------------------------------------------


def test_create_get_delete_round_trip(client: CommunitiesClient, sandbox: SandboxServer) -> None:
    created = client.create_member(COMMUNITY, jane())
    assert created.email == EMAIL
    assert created.remaining_credit == Decimal("750.00")
    assert created.external_reference == "HR-1"
    assert sandbox.state.member(COMMUNITY, EMAIL) is not None

    credit = client.get_remaining_credit(COMMUNITY, EMAIL)
    assert (credit.first_name, credit.last_name) == ("Jane", "Doe")
    assert str(credit.remaining_credit) == "750.00"

    revoked = client.delete_member(COMMUNITY, EMAIL)
    assert revoked.revoked_credit == Decimal("750.00")
    assert sandbox.state.member(COMMUNITY, EMAIL) is None


def test_list_communities_is_cached_and_shared(
    make_client: MakeClient, sandbox: SandboxServer
) -> None:
    first = make_client().list_communities()
    assert [c.id for c in first.communities] == [COMMUNITY, OTHER_COMMUNITY]
    assert first.communities[0].name == "Acme Employees"
    # A second client (as another process would) reads the same Redis entry.
    again = make_client().list_communities()
    assert again == first
    assert sandbox.state.operation_counts["listCommunities"] == 1
    make_client().list_communities(refresh=True)
    assert sandbox.state.operation_counts["listCommunities"] == 2


def test_community_ids_narrow_the_list(make_client: MakeClient, sandbox: SandboxServer) -> None:
    client = make_client(allowed_community_ids=(OTHER_COMMUNITY,))
    assert [c.id for c in client.list_communities().communities] == [OTHER_COMMUNITY]
    with pytest.raises(CommunityNotAvailable):
        client.get_remaining_credit(COMMUNITY, EMAIL)
    assert member_calls(sandbox) == 0


def test_unlisted_community_is_refused_before_any_member_call(
    client: CommunitiesClient, sandbox: SandboxServer
) -> None:
    for call in (
        lambda: client.create_member("prod-community", jane()),
        lambda: client.get_remaining_credit("prod-community", EMAIL),
        lambda: client.delete_member("prod-community", EMAIL),
    ):
        with pytest.raises(CommunityNotAvailable) as caught:
            call()
        assert "prod-community" in caught.value.message
    assert member_calls(sandbox) == 0
    # The miss refreshed the list once, then the throttle kept it from hammering the API.
    assert sandbox.state.operation_counts["listCommunities"] == 2


def test_ensure_community_returns_the_listed_community(client: CommunitiesClient) -> None:
    assert client.ensure_community(COMMUNITY).name == "Acme Employees"


# Money -------------------------------------------------------------------------------


def test_credit_is_sent_and_received_as_exact_cents(
    make_client: MakeClient, sandbox: SandboxServer
) -> None:
    transport = RecordingTransport()
    client = make_client(transport=transport)
    created = client.create_member(COMMUNITY, jane(credit=Decimal("0.10") + Decimal("0.20")))
    assert created.remaining_credit == Decimal("0.30")
    assert str(created.remaining_credit) == "0.30"

    posts = [r for r in transport.sent if r.method == "POST" and r.url.path.endswith("/members")]
    assert len(posts) == 1
    raw = posts[0].content.decode()
    assert f'"{contract.CREDIT}":0.30' in raw
    assert "0.3000" not in raw and "0.29999" not in raw
    assert posts[0].headers["Content-Type"] == "application/json"
    logged = next(r for r in sandbox.state.requests if r["operation"] == "createMember")
    assert str(logged["body"][contract.CREDITS][0][contract.CREDIT]) == "0.30"

    assert str(client.get_remaining_credit(COMMUNITY, EMAIL).remaining_credit) == "0.30"
    assert str(client.delete_member(COMMUNITY, EMAIL).revoked_credit) == "0.30"


def test_credit_that_is_not_whole_cents_is_refused_locally(
    client: CommunitiesClient, sandbox: SandboxServer
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        client.create_member(COMMUNITY, jane(credit=Decimal("10.005")))
    assert caught.value.field_errors
    assert sandbox.state.operation_counts.get("createMember", 0) == 0


# Headers and paths -------------------------------------------------------------------


def test_email_travels_as_one_percent_encoded_segment(
    client: CommunitiesClient, sandbox: SandboxServer
) -> None:
    address = "jane+test@example.com"
    client.create_member(COMMUNITY, jane(email=address))
    assert client.get_remaining_credit(COMMUNITY, address).email == address
    client.delete_member(COMMUNITY, address)
    paths = [
        r["path"]
        for r in sandbox.state.requests
        if r["operation"] in ("getRemainingCredit", "deleteMember")
    ]
    assert paths == [
        f"/communities-api/v2/communities/{COMMUNITY}/members/jane%2Btest%40example.com/credit",
        f"/communities-api/v2/communities/{COMMUNITY}/members/jane%2Btest%40example.com",
    ]


def test_user_agent_and_correlation_id_on_every_call(
    client: CommunitiesClient, sandbox: SandboxServer
) -> None:
    client.create_member(COMMUNITY, jane())
    mine = str(uuid.uuid4())
    credit = client.get_remaining_credit(COMMUNITY, EMAIL, correlation_id=mine)
    assert credit.correlation_id == mine
    revoked = client.delete_member(COMMUNITY, EMAIL)
    uuid.UUID(revoked.correlation_id)  # ours, a UUID, echoed back
    with pytest.raises(NotFound) as caught:
        client.get_remaining_credit(COMMUNITY, EMAIL, correlation_id="support-1234")
    assert caught.value.correlation_id == "support-1234"

    api_calls = [r for r in sandbox.state.requests if r["operation"] != "getToken"]
    assert len(api_calls) == 5
    for request in api_calls:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers["user-agent"] == "Coolblue-Acme"
        assert headers["x-correlation-id"]
    ids = [{k.lower(): v for k, v in r["headers"].items()}["x-correlation-id"] for r in api_calls]
    assert mine in ids and "support-1234" in ids
    assert len(set(ids)) == len(ids)  # a fresh ID per call unless the caller gives one


# Errors ------------------------------------------------------------------------------


def test_already_member(client: CommunitiesClient) -> None:
    client.create_member(COMMUNITY, jane())
    with pytest.raises(AlreadyMember) as caught:
        client.create_member(COMMUNITY, jane(), correlation_id="dup-1")
    assert caught.value.status == 409
    assert caught.value.correlation_id == "dup-1"


def test_not_found(client: CommunitiesClient) -> None:
    with pytest.raises(NotFound) as caught:
        client.get_remaining_credit(COMMUNITY, "nobody@example.com")
    assert caught.value.status == 404
    assert "not a member" in caught.value.message
    assert caught.value.correlation_id
    with pytest.raises(NotFound):
        client.delete_member(COMMUNITY, "nobody@example.com")


def test_invalid_request_names_the_fields(client: CommunitiesClient) -> None:
    bad = NewMember(email="not-an-address", first_name="", last_name="Doe", credit=Decimal("0.00"))
    with pytest.raises(InvalidRequest) as caught:
        client.create_member(COMMUNITY, bad)
    error = caught.value
    assert error.status == 400
    email_field = f"{contract.MEMBER_OBJECT}.{contract.EMAIL_ADDRESS}"
    assert email_field in error.field_errors
    assert f"{contract.MEMBER_OBJECT}.{contract.FIRST_NAME}" in error.field_errors
    assert email_field in error.message
    assert error.correlation_id


def test_wrong_secret_is_authentication_failed_without_the_secret(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Secret-Value-99"
    client = make_client(client_secret=SecretStr(wrong))
    with pytest.raises(AuthenticationFailed) as caught:
        client.list_communities()
    assert caught.value.status == 401
    assert "COMMUNITIES_CLIENT_SECRET" in caught.value.message
    assert wrong not in caught.value.message and wrong not in caplog.text


def test_second_401_is_authentication_failed(
    client: CommunitiesClient, sandbox: SandboxServer
) -> None:
    client.list_communities()
    set_faults(sandbox, fail_next=2, fail_status=401, operation="getRemainingCredit")
    with pytest.raises(AuthenticationFailed) as caught:
        client.get_remaining_credit(COMMUNITY, EMAIL)
    assert caught.value.status == 401
    assert sandbox.state.operation_counts["getRemainingCredit"] == 2
    assert sandbox.state.token_requests == 2  # the first 401 fetched one fresh token


def test_rate_limited_after_all_attempts(make_client: MakeClient, sandbox: SandboxServer) -> None:
    client = make_client(max_attempts=2)
    client.list_communities()
    set_faults(sandbox, rate_limit_next=5, retry_after_seconds=0, operation="getRemainingCredit")
    with pytest.raises(RateLimited) as caught:
        client.get_remaining_credit(COMMUNITY, EMAIL)
    assert caught.value.status == 429
    assert caught.value.correlation_id
    assert sandbox.state.operation_counts["getRemainingCredit"] == 2


def test_long_retry_after_is_not_waited_for(
    make_client: MakeClient, sandbox: SandboxServer
) -> None:
    client = make_client(retry_after_cap=2.0)
    client.list_communities()
    set_faults(sandbox, rate_limit_next=1, retry_after_seconds=120, operation="getRemainingCredit")
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        client.get_remaining_credit(COMMUNITY, EMAIL)
    assert time.monotonic() - started < 2.0
    assert caught.value.retry_after == 120


def test_service_unavailable_after_all_attempts(
    make_client: MakeClient, sandbox: SandboxServer
) -> None:
    client = make_client(max_attempts=3)
    client.list_communities()
    set_faults(sandbox, fail_next=10, fail_status=503, operation="getRemainingCredit")
    with pytest.raises(ServiceUnavailable) as caught:
        client.get_remaining_credit(COMMUNITY, EMAIL)
    assert caught.value.status == 503
    assert sandbox.state.operation_counts["getRemainingCredit"] == 3


def test_timeout_after_all_attempts(make_client: MakeClient, sandbox: SandboxServer) -> None:
    client = make_client(timeout=0.3, max_attempts=2)
    client.list_communities()
    set_faults(sandbox, hang_next=2, hang_seconds=1.0, operation="getRemainingCredit")
    with pytest.raises(Timeout) as caught:
        client.get_remaining_credit(COMMUNITY, EMAIL, correlation_id="slow-1")
    assert caught.value.correlation_id == "slow-1"
    assert sandbox.state.operation_counts["getRemainingCredit"] == 2


def test_unreachable_api_is_service_unavailable(make_client: MakeClient) -> None:
    dead = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused
    client = make_client(
        base_url=dead + "/communities-api", token_url=dead + "/oauth2/token", max_attempts=2
    )
    with pytest.raises(ServiceUnavailable) as caught:
        client.list_communities()
    assert "unavailable" in caught.value.message


# Retries -----------------------------------------------------------------------------


def test_503_on_get_is_retried(client: CommunitiesClient, sandbox: SandboxServer) -> None:
    client.create_member(COMMUNITY, jane())
    set_faults(sandbox, fail_next=1, fail_status=503, operation="getRemainingCredit")
    assert client.get_remaining_credit(COMMUNITY, EMAIL).remaining_credit == Decimal("750.00")
    assert sandbox.state.operation_counts["getRemainingCredit"] == 2


def test_429_honours_retry_after(client: CommunitiesClient, sandbox: SandboxServer) -> None:
    client.create_member(COMMUNITY, jane())
    set_faults(sandbox, rate_limit_next=1, retry_after_seconds=1, operation="getRemainingCredit")
    started = time.monotonic()
    assert client.get_remaining_credit(COMMUNITY, EMAIL).email == EMAIL
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 5.0
    assert sandbox.state.operation_counts["getRemainingCredit"] == 2


def test_429_on_create_is_retried(client: CommunitiesClient, sandbox: SandboxServer) -> None:
    set_faults(sandbox, rate_limit_next=1, retry_after_seconds=0, operation="createMember")
    assert client.create_member(COMMUNITY, jane()).remaining_credit == Decimal("750.00")
    assert sandbox.state.operation_counts["createMember"] == 2


def test_dropped_connection_after_create_is_ambiguous_and_not_resent(
    client: CommunitiesClient, sandbox: SandboxServer
) -> None:
    client.list_communities()
    set_faults(sandbox, drop_after_create_next=1)
    with pytest.raises(AmbiguousCreate) as caught:
        client.create_member(COMMUNITY, jane(), correlation_id="create-1")
    assert caught.value.correlation_id == "create-1"
    assert sandbox.state.operation_counts["createMember"] == 1
    assert len(sandbox.state.members(COMMUNITY)) == 1
    # What the caller does next: look before creating again.
    assert client.get_remaining_credit(COMMUNITY, EMAIL).remaining_credit == Decimal("750.00")


def test_5xx_on_create_is_ambiguous_and_not_resent(
    client: CommunitiesClient, sandbox: SandboxServer
) -> None:
    set_faults(sandbox, fail_next=1, fail_status=502, operation="createMember")
    with pytest.raises(AmbiguousCreate) as caught:
        client.create_member(COMMUNITY, jane())
    assert caught.value.status == 502
    assert sandbox.state.operation_counts["createMember"] == 1


def test_create_timeout_is_ambiguous_and_not_resent(
    make_client: MakeClient, sandbox: SandboxServer
) -> None:
    client = make_client(timeout=0.3)
    client.list_communities()
    set_faults(sandbox, hang_next=1, hang_seconds=1.0, operation="createMember")
    with pytest.raises(AmbiguousCreate):
        client.create_member(COMMUNITY, jane())
    assert sandbox.state.operation_counts["createMember"] == 1


def test_delete_503_is_retried(client: CommunitiesClient, sandbox: SandboxServer) -> None:
    client.create_member(COMMUNITY, jane(credit=Decimal("12.34")))
    set_faults(sandbox, fail_next=1, fail_status=503, operation="deleteMember")
    assert client.delete_member(COMMUNITY, EMAIL).revoked_credit == Decimal("12.34")
    assert sandbox.state.operation_counts["deleteMember"] == 2


def test_delete_404_after_ambiguous_attempt_counts_as_done(
    make_client: MakeClient, sandbox: SandboxServer
) -> None:
    client = make_client(timeout=0.3)
    client.list_communities()
    # The member is already gone: what the timed-out first attempt did, as far as the
    # client can tell. The retry's 404 then confirms the removal.
    set_faults(sandbox, hang_next=1, hang_seconds=1.0, operation="deleteMember")
    revoked = client.delete_member(COMMUNITY, EMAIL)
    assert revoked.revoked_credit is None
    assert revoked.email == EMAIL
    assert sandbox.state.operation_counts["deleteMember"] == 2


# Tokens ------------------------------------------------------------------------------


def test_fifty_calls_one_token(make_client: MakeClient, sandbox: SandboxServer) -> None:
    client = make_client()
    client.create_member(COMMUNITY, jane())
    for _ in range(49):
        client.get_remaining_credit(COMMUNITY, EMAIL)
    make_client().get_remaining_credit(COMMUNITY, EMAIL)  # a second client reuses it too
    assert sandbox.state.token_requests == 1


def test_token_renewed_once_near_expiry(make_client: MakeClient) -> None:
    server = start_sandbox(token_lifetime=2)
    try:
        client = make_client(server=server)
        client.list_communities()
        assert server.state.token_requests == 1
        time.sleep(2.0)
        for _ in range(10):
            client.list_communities(refresh=True)
        assert server.state.token_requests == 2
        statuses = [r["status"] for r in server.state.requests if r["operation"] != "getToken"]
        assert 401 not in statuses  # renewed before it expired, not after a refusal
    finally:
        server.stop()


def test_revoked_token_one_401_one_new_token(
    client: CommunitiesClient, sandbox: SandboxServer
) -> None:
    client.create_member(COMMUNITY, jane())
    sandbox.state.revoke_tokens()
    assert client.get_remaining_credit(COMMUNITY, EMAIL).email == EMAIL
    assert sandbox.state.token_requests == 2
    refused = [r for r in sandbox.state.requests if r["status"] == 401]
    assert len(refused) == 1


def test_401_does_not_drop_a_token_another_process_already_renewed(
    client: CommunitiesClient, sandbox: SandboxServer
) -> None:
    client.list_communities()
    stale = client.tokens.get()
    sandbox.state.revoke_tokens()
    client.tokens.clear()
    fresh = client.tokens.get()  # someone else renewed after the revocation
    assert fresh != stale
    assert client.tokens.invalidate(stale) is False
    assert client.tokens.get() == fresh
    assert sandbox.state.token_requests == 2


WORKER = textwrap.dedent("""
    import os, sys, threading, time
    import redis
    from pydantic import SecretStr
    from bot.communities import CommunitiesClient

    base_url, token_url, redis_url, community, email = sys.argv[1:6]
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    client = CommunitiesClient(
        base_url=base_url, token_url=token_url, client_id="sandbox-client",
        client_secret=SecretStr(os.environ["TEST_SECRET"]), company="Acme", redis=store,
        backoff_base=0.01, backoff_cap=0.05)
    go = threading.Event()
    done = []

    def work():
        go.wait()
        done.append(client.get_remaining_credit(community, email).remaining_credit)

    threads = [threading.Thread(target=work) for _ in range(25)]
    for thread in threads:
        thread.start()
    store.incr("test:ready")
    while not store.exists("test:go"):
        time.sleep(0.002)
    go.set()
    for thread in threads:
        thread.join()
    client.close()
    print(len(done), sorted(set(str(d) for d in done)))
""")


def test_cold_cache_four_processes_of_25_threads_fetch_one_token(
    sandbox: SandboxServer, redis_url: str, redis_client: redis.Redis
) -> None:
    sandbox.state.add_member(COMMUNITY, EMAIL, "Jane", "Doe", Decimal("99.99"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TEST_SECRET": SECRET}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                sandbox.base_url,
                sandbox.token_url,
                redis_url,
                COMMUNITY,
                EMAIL,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        deadline = time.monotonic() + 30
        while int(redis_client.get("test:ready") or 0) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert redis_client.get("test:ready") == "4"
        redis_client.set("test:go", "1")
        outputs = [worker.communicate(timeout=30) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for (out, err), worker in zip(outputs, workers, strict=True):
        assert worker.returncode == 0, err
        assert out.strip() == "25 ['99.99']"
    assert sandbox.state.token_requests == 1


# Secrets and personal data -----------------------------------------------------------


@pytest.fixture
def redacted_httpx_logs() -> Iterator[None]:
    """The filter the entry point installs (bot.__main__), removed again unless it was
    already there: it is process-wide."""
    httpx_logger = logging.getLogger("httpx")
    before = list(httpx_logger.filters)
    installed = install_log_filter()
    yield
    if installed not in before:
        httpx_logger.removeFilter(installed)


def test_no_secrets_or_addresses_in_repr_or_logs(
    make_client: MakeClient,
    sandbox: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    redacted_httpx_logs: None,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client()
    address = "jane+test@example.com"
    client.create_member(COMMUNITY, jane(email=address))
    client.get_remaining_credit(COMMUNITY, address)
    sandbox.state.revoke_tokens()
    client.delete_member(COMMUNITY, address)
    with pytest.raises(NotFound):
        client.get_remaining_credit(COMMUNITY, address)

    token = client.tokens.get()
    for text in (repr(client), str(client), repr(client.tokens)):
        assert SECRET not in text and token not in text
    assert "bot.communities" in {record.name for record in caplog.records}
    logged = caplog.text
    for forbidden in (SECRET, token, address, "jane%2Btest%40example.com", "Jane", "Doe"):
        assert forbidden not in logged, forbidden
    ours = [r for r in caplog.records if r.name == "bot.communities"]
    assert any(
        "operation=getRemainingCredit" in r.getMessage()
        and "status=404" in r.getMessage()
        and "correlation_id=" in r.getMessage()
        for r in ours
    )


def test_token_cache_key_names_neither_client_nor_secret(
    client: CommunitiesClient, redis_client: redis.Redis
) -> None:
    client.list_communities()
    keys = list(redis_client.scan_iter("communities:token:*"))
    assert keys == [client.tokens.key]
    assert SECRET not in client.tokens.key and CLIENT_ID not in client.tokens.key
    assert SECRET not in (redis_client.get(client.tokens.key) or "")


# Construction ------------------------------------------------------------------------


def test_client_from_settings_with_sandbox_overrides(
    sandbox: SandboxServer, redis_client: redis.Redis
) -> None:
    settings = Settings(
        _env_file=None,
        communities_client_secret=SecretStr(SECRET),
        community_ids=COMMUNITY,
    )
    with communities_client(
        settings, redis_client, base_url=sandbox.base_url, token_url=sandbox.token_url
    ) as client:
        listed = client.list_communities()
        assert [c.id for c in listed.communities] == [COMMUNITY]
        assert client.user_agent.startswith(contract.USER_AGENT_PREFIX)


# Client authentication at the token endpoint -----------------------------------------
# The sandbox takes the credentials in the form body only (for now), so "basic" is
# checked on the request the client builds, not over the wire.


def test_client_credentials_in_the_form_body_by_default(
    client: CommunitiesClient, sandbox: SandboxServer
) -> None:
    request = client.token_endpoint.build_request("token-1")
    assert request.method == "POST" and str(request.url) == sandbox.token_url
    assert parse_qs(request.content.decode()) == {
        contract.TOKEN_FIELD_GRANT_TYPE: [contract.TOKEN_GRANT_TYPE],
        contract.TOKEN_FIELD_CLIENT_ID: [CLIENT_ID],
        contract.TOKEN_FIELD_CLIENT_SECRET: [SECRET],
    }
    assert "Authorization" not in request.headers
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["User-Agent"] == "Coolblue-Acme"
    assert request.headers[contract.CORRELATION_HEADER] == "token-1"


def test_client_credentials_as_http_basic(make_client: MakeClient, sandbox: SandboxServer) -> None:
    client = make_client(
        client_id="id:with space", client_secret=SecretStr("p@ss/wörd+"), client_auth="basic"
    )
    request = client.token_endpoint.build_request("token-2")
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    # RFC 6749 2.3.1: each part form-urlencoded, then "id:secret", then base64.
    assert base64.b64decode(encoded).decode() == "id%3Awith+space:p%40ss%2Fw%C3%B6rd%2B"
    assert parse_qs(request.content.decode()) == {
        contract.TOKEN_FIELD_GRANT_TYPE: [contract.TOKEN_GRANT_TYPE]
    }
    assert str(request.url) == sandbox.token_url
    assert request.headers[contract.CORRELATION_HEADER] == "token-2"
    assert "p@ss" not in repr(client.token_endpoint) and "p@ss" not in repr(client)


def test_unknown_client_auth_is_refused(make_client: MakeClient) -> None:
    with pytest.raises(ValueError, match="client_auth"):
        make_client(client_auth="header")


def test_client_auth_setting_reaches_the_token_request(
    sandbox: SandboxServer, redis_client: redis.Redis
) -> None:
    settings = Settings(
        _env_file=None,
        communities_client_secret=SecretStr(SECRET),
        communities_client_auth="basic",
    )
    with communities_client(
        settings, redis_client, base_url=sandbox.base_url, token_url=sandbox.token_url
    ) as client:
        request = client.token_endpoint.build_request("token-3")
        assert request.headers["Authorization"].startswith("Basic ")
        assert contract.TOKEN_FIELD_CLIENT_SECRET not in parse_qs(request.content.decode())


def test_a_revoked_token_is_dropped_by_every_process_with_one_renewal(
    make_client: MakeClient, sandbox: SandboxServer, redis_url: str
) -> None:
    """Two processes (each its own client and Redis connection) share one token. Coolblue
    revokes it: each stops using it at its first refusal, and only one new token is asked
    for across both."""
    stores = [redis.Redis.from_url(redis_url, decode_responses=True) for _ in range(2)]
    try:
        one, other = (make_client(redis=store) for store in stores)
        one.create_member(COMMUNITY, jane())
        assert other.get_remaining_credit(COMMUNITY, EMAIL).email == EMAIL
        assert sandbox.state.token_requests == 1
        sandbox.state.revoke_tokens()
        for client in (one, other):
            assert client.get_remaining_credit(COMMUNITY, EMAIL).email == EMAIL
        refused = [r for r in sandbox.state.requests if r["status"] == 401]
        assert 1 <= len(refused) <= 2  # at most one per process
        for client in (one, other, one, other):
            assert client.get_remaining_credit(COMMUNITY, EMAIL).email == EMAIL
        assert [r for r in sandbox.state.requests if r["status"] == 401] == refused  # no more
        assert sandbox.state.token_requests == 2
    finally:
        for store in stores:
            store.close()
