"""manifest.yml stays a manifest Slack takes, and its steps and the bot's listeners match.

The schema (tests/schemas/slack-app-manifest.schema.json) was written for this project from
Slack's documented app manifest reference, for the parts manifest.yml uses: Slack's own
published schema cannot be fetched at test time and ships in no package we depend on.
"""

from __future__ import annotations

import copy
import inspect
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from slack_bolt import App

from bot.slack.listeners import register_listeners

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "tests" / "schemas" / "slack-app-manifest.schema.json").read_text())


def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))


def problems(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_manifest_yml_is_valid() -> None:
    assert problems(manifest()) == []


@pytest.mark.parametrize(
    "path, value",
    [
        (("functions", "onboard_employee", "input_parameter"), {}),  # a typo
        (("functions", "onboard_employee", "input_parameters", "email", "type"), "email"),
        (("settings", "org_deploy_enabled"), "yes"),
        (("settings", "function_runtime"), "lambda"),
        (("display_information", "name"), "x" * 36),
    ],
)
def test_the_schema_refuses_what_slack_refuses(path: tuple[str, ...], value: Any) -> None:
    document = copy.deepcopy(manifest())
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert problems(document)


def test_custom_steps_are_set_up_as_slack_requires() -> None:
    settings = manifest()["settings"]
    assert settings["org_deploy_enabled"] is True
    assert settings["function_runtime"] == "remote"
    assert "function_executed" in settings["event_subscriptions"]["bot_events"]


def test_each_step_declares_the_outputs_of_product_section_11() -> None:
    for name, function in manifest()["functions"].items():
        outputs = function["output_parameters"]
        assert set(outputs) == {"request_id", "status", "decided_by", "remaining_credit_eur"}
        assert outputs["decided_by"]["type"] == "slack#/types/user_id"
        assert function["input_parameters"]["requester"]["type"] == "slack#/types/user_id"
        dates = [p for p in function["input_parameters"].values() if "date" in p["type"]]
        assert [p["type"] for p in dates] == ["slack#/types/date"], name


def listened_steps() -> list[str]:
    """The callback IDs of every app.function listener the bot registers."""
    app = App(token="xoxb-test", signing_secret="test", token_verification_enabled=False)
    register_listeners(app)
    found = []
    for listener in app._listeners:
        for matcher in listener.matchers:
            func = getattr(matcher, "func", None)
            if func is not None and func.__qualname__.startswith("function_executed"):
                found.append(inspect.getclosurevars(func).nonlocals["callback_id"])
    return found


def test_every_manifest_function_has_a_listener_and_every_listener_an_entry() -> None:
    listened = listened_steps()
    assert len(listened) == len(set(listened))  # one listener per step
    assert sorted(listened) == sorted(manifest()["functions"])
