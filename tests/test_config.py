"""Configuration: one line per problem, naming the variable; secrets never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.runtime.settings import ConfigError, Process, load_settings

ROOT = Path(__file__).parents[1]


def test_embedded_defaults_need_nothing():
    settings = load_settings(_env_file=None)
    assert settings.uses_sandbox and settings.uses_embedded_redis
    assert not settings.has_slack_credentials
    assert settings.environment_label == "SANDBOX"


def test_each_problem_is_one_line_naming_the_variable():
    with pytest.raises(ConfigError) as caught:
        load_settings(
            _env_file=None,
            port="99999",
            roles_hr="alice,U0OK",
            approvals_channel="#approvals",
            max_credit_eur="-1",
            communities_api_url="https://api.example/wrong",
        )
    lines = caught.value.problems
    assert [line.split(":")[0] for line in lines] == [
        "PORT",
        "APPROVALS_CHANNEL",
        "COMMUNITIES_API_URL",
        "ROLES_HR",
        "MAX_CREDIT_EUR",
        # COMMUNITIES_API_URL is wrong, but set: what it needs besides is asked for too
        "COMMUNITIES_ENVIRONMENT",
        "COMMUNITIES_TOKEN_URL",
        "COMMUNITIES_CLIENT_ID",
        "COMMUNITIES_CLIENT_SECRET",
        "COMMUNITIES_COMPANY",
    ]
    assert "alice" in lines[3]


def test_field_and_cross_field_problems_show_in_one_pass():
    with pytest.raises(ConfigError) as caught:
        load_settings(
            _env_file=None,
            port="99999",
            reminder_after_hours="80",
            request_expiry_hours="72",
        )
    assert caught.value.problems == [
        "PORT: Input should be less than or equal to 65535",
        "REMINDER_AFTER_HOURS: must be less than REQUEST_EXPIRY_HOURS",
    ]


def test_a_cross_field_check_on_a_bad_field_is_left_to_that_field():
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, reminder_after_hours="80", request_expiry_hours="-1")
    assert caught.value.problems == ["REQUEST_EXPIRY_HOURS: Input should be greater than 0"]


@pytest.mark.parametrize("level", ["debug", "Debug", "DEBUG", " info "])
def test_log_level_in_any_case(level):
    settings = load_settings(_env_file=None, log_level=level)
    assert settings.log_level == level.strip().upper()


def test_log_level_still_refuses_unknown_levels():
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, log_level="chatty")
    assert caught.value.problems[0].startswith("LOG_LEVEL: Input should be 'DEBUG'")


SLACK = {
    "slack_bot_token": "xoxb-1",
    "approvals_channel": "C0APPROVALS",
}
SHARED = {
    "redis_url": "redis://127.0.0.1:6379/0",
    "communities_environment": "acceptance",
    "communities_api_url": "https://api.example/communities-api",
    "communities_token_url": "https://api.example/oauth2/token",
    "communities_client_id": "id",
    "communities_client_secret": "secret",
    "communities_company": "Acme",
}


def test_a_worker_needs_no_signing_secret_nor_app_token():
    settings = load_settings(Process.WORKER, _env_file=None, **SLACK, **SHARED)
    assert settings.slack_signing_secret is None and settings.slack_app_token is None


def test_web_needs_a_signing_secret_or_an_app_token():
    with pytest.raises(ConfigError) as caught:
        load_settings(Process.WEB, _env_file=None, **SLACK, **SHARED)
    assert [line.split(":")[0] for line in caught.value.problems] == ["SLACK_SIGNING_SECRET"]
    settings = load_settings(
        Process.WEB, _env_file=None, slack_signing_secret="s", **SLACK, **SHARED
    )
    assert settings.slack_signing_secret is not None


@pytest.mark.parametrize("process", [Process.WEB, Process.WORKER])
def test_split_processes_refuse_private_embedded_parts(process):
    secret = {"slack_signing_secret": "s"} if process is Process.WEB else {}
    with pytest.raises(ConfigError) as caught:
        load_settings(process, _env_file=None, **SLACK, **secret)
    lines = caught.value.problems
    assert [line.split(":")[0] for line in lines] == ["COMMUNITIES_API_URL", "REDIS_URL"]
    assert all(f"required for `python -m bot {process}`" in line for line in lines)
    assert all("set the same one for web and workers" in line for line in lines)


def test_all_in_one_and_console_keep_their_embedded_defaults():
    settings = load_settings(Process.ALL_IN_ONE, _env_file=None, slack_signing_secret="s", **SLACK)
    assert settings.uses_embedded_redis and settings.uses_sandbox
    assert load_settings(Process.CONSOLE, _env_file=None).uses_embedded_redis


def test_the_console_asks_nothing_of_slack():
    # The console brings its own Slack stand-in: half-set Slack variables do not stop it.
    settings = load_settings(Process.CONSOLE, _env_file=None, slack_bot_token="not-a-token")
    assert settings.has_slack_credentials


def test_cross_field_problems_and_secret_never_shown():
    secret = "xoxb-not-a-bot-token-but-secret"
    with pytest.raises(ConfigError) as caught:
        load_settings(
            _env_file=None,
            slack_bot_token="bad-" + secret,
            communities_api_url="https://host.example/communities-api",
            communities_client_secret="s3cr3t-value",
        )
    text = str(caught.value)
    assert "SLACK_BOT_TOKEN: must be a bot token starting with xoxb-" in text
    assert "SLACK_SIGNING_SECRET: required for HTTP mode" in text
    assert "APPROVALS_CHANNEL: required for `python -m bot`" in text
    for name in (
        "COMMUNITIES_ENVIRONMENT",
        "COMMUNITIES_TOKEN_URL",
        "COMMUNITIES_CLIENT_ID",
        "COMMUNITIES_COMPANY",
    ):
        assert f"{name}: required when COMMUNITIES_API_URL is set" in text
    assert secret not in text and "s3cr3t-value" not in text


def test_settings_repr_hides_secrets():
    settings = load_settings(
        _env_file=None,
        slack_bot_token="xoxb-very-secret",
        slack_signing_secret="signing-very-secret",
        approvals_channel="C0APPROVALS",
    )
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings)


def test_start_up_stops_with_one_line_per_problem(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "PORT": "0",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "ROLES_ADMIN": "nobody",
        "REMINDER_AFTER_HOURS": "100",
    }
    run = subprocess.run(
        [sys.executable, "-m", "bot", "web"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    web = "required for `python -m bot web`"
    assert run.stderr.splitlines() == [
        "Configuration problems:",
        "  PORT: Input should be greater than or equal to 1",
        "  ROLES_ADMIN: expected Slack user IDs (U…/W…) or user-group IDs (S…), got nobody",
        f"  APPROVALS_CHANNEL: {web}",
        "  SLACK_SIGNING_SECRET: required for HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)",
        f"  COMMUNITIES_API_URL: {web}; set the same one for web and workers, e.g. a "
        "`python -m bot sandbox` (an embedded sandbox would be this process's alone)",
        f"  REDIS_URL: {web}; set the same one for web and workers (an embedded Redis would "
        "be this process's alone: approved work would never reach the other)",
        "  REMINDER_AFTER_HOURS: must be less than REQUEST_EXPIRY_HOURS",
    ]


def test_web_without_a_bot_token_says_what_to_set(tmp_path):
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "bot", "worker"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert (
        "  SLACK_BOT_TOKEN: required for `python -m bot worker` (without Slack credentials, "
        "`python -m bot` opens the local console)"
    ) in run.stderr.splitlines()
