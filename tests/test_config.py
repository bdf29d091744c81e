"""Configuration: one line per problem, naming the variable; secrets never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.runtime.settings import ConfigError, load_settings

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
    ]
    assert "alice" in lines[3]


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
    assert "APPROVALS_CHANNEL: required when Slack credentials are set" in text
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
    assert run.stderr.splitlines() == [
        "Configuration problems:",
        "  PORT: Input should be greater than or equal to 1",
        "  ROLES_ADMIN: expected Slack user IDs (U…/W…) or user-group IDs (S…), got nobody",
    ]
