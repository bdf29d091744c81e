"""`python -m bot policy check FILE` as a subprocess, and start-up refusing a POLICY_FILE
with the same lines: offline problems, and communities the API does not list."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.runtime.bootstrap import ApiUrls, start_runtime
from bot.runtime.settings import ConfigError
from bot.sandbox import SandboxServer
from tests.conftest import stack_settings

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "policy.toml"
BOTH = "cc-acme-nl:Acme NL,cc-acme-be:Acme BE"

BROKEN = """
[defaults]
max_credit_eur = "-1.00"

[communities.cc-acme-nl]
channel = "C0APPROVNL"
aprovers = ["U0BOB"]
escalate_after_hours = 8

[communities.cc-elsewhere]
channel = "approvals"
"""
BROKEN_LINES = [
    "defaults.max_credit_eur: must not be negative",
    "communities.cc-acme-nl.aprovers: unknown key (did you mean approvers?)",
    "communities.cc-elsewhere.channel: 'approvals' is not a channel ID (C…/G…); use the ID, "
    "not the channel's name",
    "communities.cc-acme-nl.escalate_after_hours: an escalation needs escalate_to (who is "
    "asked when a request in cc-acme-nl stays undecided)",
]


def bot(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_example_passes_against_a_sandbox_that_lists_both(tmp_path: Path) -> None:
    run = bot(["policy", "check", str(EXAMPLE)], tmp_path, SANDBOX_COMMUNITIES=BOTH)
    assert run.returncode == 0, run.stderr
    out = run.stdout.splitlines()
    assert out[0] == f"Effective policy ({EXAMPLE}):"
    nl = out[out.index("[cc-acme-nl]") :]
    assert "  channel              C0APPROVNL" in nl
    assert "  approvals remove     2" in nl
    assert "  auto-approve         an onboarding of at most €250.00" in nl
    assert "  escalation           after 8 h to U0ERIN, posted in C0ESCALATE" in nl
    be = out[out.index("[cc-acme-be]") :]
    assert "  max credit           €2,500.00  (defaults)" in be
    assert "API: the SANDBOX lists every community named (2)" in out
    assert "A restart reads the file again (there is no reload)." in out
    assert run.stderr == ""


def test_communities_the_api_does_not_list_are_problems(tmp_path: Path) -> None:
    run = bot(["policy", "check", str(EXAMPLE)], tmp_path)  # the default sandbox: acme-employees
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"{EXAMPLE}: 2 problem(s):",
        "  communities.cc-acme-nl: the Communities API does not list this community for this "
        "client (it lists: acme-employees)",
        "  communities.cc-acme-be: the Communities API does not list this community for this "
        "client (it lists: acme-employees)",
    ]
    assert run.stdout == ""


def test_every_problem_in_one_pass_with_the_api_check(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(BROKEN, encoding="utf-8")
    run = bot(["policy", "check", str(policy)], tmp_path, SANDBOX_COMMUNITIES=BOTH)
    assert run.returncode == 2
    unlisted = (
        "communities.cc-elsewhere: the Communities API does not list this community for this "
        "client (it lists: cc-acme-be, cc-acme-nl)"
    )
    expected = BROKEN_LINES + [unlisted]
    assert run.stderr.splitlines() == [f"{policy}: 5 problem(s):"] + [f"  {x}" for x in expected]


def test_no_api_leaves_out_that_one_question(tmp_path: Path) -> None:
    run = bot(["policy", "check", "--no-api", str(EXAMPLE)], tmp_path)
    assert run.returncode == 0, run.stderr
    assert "API check skipped (--no-api): the community IDs were not checked" in run.stdout


def test_a_malformed_file_names_its_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[defaults]\nexpiry_hours = 72\nchannel = C0X\n", encoding="utf-8")
    run = bot(["policy", "check", str(policy)], tmp_path)
    assert run.returncode == 2
    lines = run.stderr.splitlines()
    assert lines[0] == f"{policy}: 1 problem(s):"
    assert lines[1].startswith(f"  {policy}: malformed TOML: line 3, column 11: ")


def test_an_api_that_cannot_be_reached_is_a_problem(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = bot(
        ["policy", "check", str(EXAMPLE)],
        tmp_path,
        COMMUNITIES_ENVIRONMENT="acceptance",
        COMMUNITIES_API_URL=f"http://127.0.0.1:{port}/communities-api",
        COMMUNITIES_TOKEN_URL=f"http://127.0.0.1:{port}/oauth2/token",
        COMMUNITIES_CLIENT_ID="client",
        COMMUNITIES_CLIENT_SECRET="very-secret",
        COMMUNITIES_COMPANY="Acme",
    )
    assert run.returncode == 2
    lines = run.stderr.splitlines()
    assert lines[0] == f"{EXAMPLE}: 1 problem(s):"
    assert lines[1].startswith(
        f"  API: could not list the communities at http://127.0.0.1:{port}/communities-api ("
    )
    assert lines[1].endswith("fix that, or pass --no-api to check the file alone")
    assert "very-secret" not in run.stderr + run.stdout


def test_start_up_refuses_the_file_with_the_same_lines(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(BROKEN, encoding="utf-8")
    run = bot(
        ["web"],
        tmp_path,
        POLICY_FILE=str(policy),
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        REDIS_URL="redis://127.0.0.1:1/0",
        COMMUNITIES_ENVIRONMENT="acceptance",
        COMMUNITIES_API_URL="http://127.0.0.1:1/communities-api",
        COMMUNITIES_TOKEN_URL="http://127.0.0.1:1/oauth2/token",
        COMMUNITIES_CLIENT_ID="client",
        COMMUNITIES_CLIENT_SECRET="secret",
        COMMUNITIES_COMPANY="Acme",
    )
    assert run.returncode == 2
    # No APPROVALS_CHANNEL: with POLICY_FILE each community names its own channel.
    assert run.stderr.splitlines() == [
        "Configuration problems:",
        f"  POLICY_FILE ({policy}): 4 problem(s):",
    ] + [f"    {line}" for line in BROKEN_LINES]


def test_the_console_starts_with_a_file_that_names_no_channel(tmp_path: Path) -> None:
    from bot.runtime.settings import Process, load_settings

    policy = tmp_path / "policy.toml"
    policy.write_text('[communities.acme-employees]\napprovers = ["U0BOB"]\n', encoding="utf-8")
    settings = load_settings(Process.CONSOLE, _env_file=None, policy_file=str(policy))
    assert settings.policy_file == str(policy)
    with pytest.raises(ConfigError) as caught:
        load_settings(
            Process.WORKER,
            _env_file=None,
            policy_file=str(policy),
            slack_bot_token="xoxb-1",
            redis_url="redis://127.0.0.1:1/0",
            communities_environment="acceptance",
            communities_api_url="http://127.0.0.1:1/communities-api",
            communities_token_url="http://127.0.0.1:1/oauth2/token",
            communities_client_id="c",
            communities_client_secret="s",
            communities_company="Acme",
        )
    assert caught.value.problems == [
        f"POLICY_FILE ({policy}): 1 problem(s):",
        "  communities.acme-employees.channel: required (set it here or in [defaults]; "
        "APPROVALS_CHANNEL is not set either)",
    ]


# The API check at start-up (bootstrap) -----------------------------------------------------


@pytest.fixture
def sandbox() -> SandboxServer:
    server = SandboxServer(
        communities=[("cc-acme-nl", "Acme NL"), ("cc-acme-be", "Acme BE")],
        client_id="sandbox-client",
        client_secret="sandbox-secret",
    )
    server.start()
    yield server
    server.stop()


def test_start_up_stops_on_a_community_the_api_does_not_list(
    redis_url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace("cc-acme-be", "cc-acme-de"), encoding="utf-8"
    )
    urls = ApiUrls(sandbox.base_url, sandbox.token_url)
    with pytest.raises(ConfigError) as caught:
        start_runtime(stack_settings(redis_url, policy_file=str(policy)), api_urls=urls)
    assert caught.value.problems == [
        f"POLICY_FILE ({policy}): 1 problem(s):",
        "  communities.cc-acme-de: the Communities API does not list this community for this "
        "client (it lists: cc-acme-be, cc-acme-nl)",
    ]
    runtime = start_runtime(stack_settings(redis_url, policy_file=str(EXAMPLE)), api_urls=urls)
    runtime.close()


def test_the_check_reads_file_not_the_policy_file_setting(tmp_path: Path) -> None:
    run = bot(
        ["policy", "check", "--no-api", str(EXAMPLE)],
        tmp_path,
        POLICY_FILE=str(tmp_path / "missing.toml"),
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"Effective policy ({EXAMPLE}):")
