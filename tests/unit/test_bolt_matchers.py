"""bot.slack.app._BodyMatcher: Bolt's listener matchers asked with the body alone route every
request exactly as Bolt's own `matches` does (which builds every argument first)."""

from typing import Any

import pytest
from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_sdk import WebClient

from bot.slack.app import _AckTimedApp, _BodyMatcher
from bot.slack.listeners import register_listeners


@pytest.fixture(scope="module")
def app() -> _AckTimedApp:
    app = _AckTimedApp(
        client=WebClient(token="xoxb-test"),
        signing_secret="unused",
        token_verification_enabled=False,
        request_verification_enabled=False,
        process_before_response=True,
    )
    register_listeners(app)
    return app


def _ids(app: _AckTimedApp, kind: str) -> list[str]:
    """The action IDs or callback IDs the app's listeners name, read from their matchers."""
    found = []
    for listener in app._listeners:
        func = listener.matchers[0].func
        if kind in func.__qualname__:
            cells = dict(zip(func.__code__.co_freevars, func.__closure__ or (), strict=True))
            found.append(next(iter(c.cell_contents for c in cells.values())))
    return found


def _bodies(app: _AckTimedApp) -> list[dict[str, Any]]:
    user = {"id": "U1"}
    bodies: list[dict[str, Any]] = [
        {"command": "/community", "text": "add", "user_id": "U1"},
        {"command": "/other", "text": "", "user_id": "U1"},
        {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U1"}},
        {"type": "event_callback", "event": {"type": "app_mention", "user": "U1"}},
        {"type": "block_actions", "user": user, "actions": [{"action_id": "unknown"}]},
        {
            "type": "view_closed",
            "user": user,
            "view": {"type": "modal", "callback_id": "add_employee"},
        },
        {"type": "shortcut", "callback_id": "add_employee", "user": user},
    ]
    for action_id in _ids(app, "action"):
        bodies.append(
            {"type": "block_actions", "user": user, "actions": [{"action_id": action_id}]}
        )
    for callback_id in _ids(app, "view_submission"):
        bodies.append(
            {
                "type": "view_submission",
                "user": user,
                "view": {"type": "modal", "callback_id": callback_id},
            }
        )
    for callback_id in _ids(app, "function_executed"):
        bodies.append(
            {
                "type": "event_callback",
                "event": {
                    "type": "function_executed",
                    "function_execution_id": "Fx1",
                    "function": {"callback_id": callback_id},
                },
            }
        )
    return bodies


def test_every_listener_is_matched_on_its_body_alone(app):
    matchers = [listener.matchers[0] for listener in app._listeners]
    assert len(matchers) >= 20
    assert all(type(m) is _BodyMatcher for m in matchers)


def test_the_body_alone_routes_every_request_as_bolt_does(app):
    routed: set[int] = set()
    for body in _bodies(app):
        request = BoltRequest(body=body, mode="socket_mode")
        response = BoltResponse(status=200)
        primaries = [listener.matchers[0] for listener in app._listeners]
        ours = [m.matches(request, response) for m in primaries]
        bolts = [BuiltinListenerMatcher.matches(m, request, response) for m in primaries]
        assert ours == bolts, body
        routed |= {number for number, matched in enumerate(ours) if matched}
    assert routed == set(range(len(app._listeners)))  # every listener met its own request
