"""Workflow Builder steps (`functions` in manifest.yml): Bolt's `app.function` listeners.

The ack keeps the execution in Redis and nothing more (no network call but Redis), so a
Slack redelivery or a process that dies after answering loses nothing; the filing itself,
one call into the domain (StepService.file), runs after the ack."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext

from bot.domain.steps import STEPS
from bot.slack.errors import reports_errors

if TYPE_CHECKING:
    from bot.slack.services import Services

# Every step the manifest declares (tests/test_manifest.py keeps the two in step).
STEP_IDS = tuple(STEPS)


def receive_step(ack: Ack, event: dict[str, Any], context: BoltContext, services: Services) -> None:
    execution_id = str(event.get("function_execution_id") or "")
    function = str((event.get("function") or {}).get("callback_id") or "")
    context["step_execution_id"] = execution_id
    if execution_id and services.steps is not None:
        services.steps.receive(execution_id, function, event.get("inputs") or {})
    ack()


@reports_errors
def file_step(services: Services, step_execution_id: str) -> None:
    if step_execution_id and services.steps is not None:
        services.steps.file(step_execution_id)


def register(app: App) -> None:
    for callback_id in STEP_IDS:
        app.function(callback_id, auto_acknowledge=False)(ack=receive_step, lazy=[file_step])
