"""Workflow Builder steps end to end (PRODUCT.md section 11), over HTTP and Socket Mode: the
stand-in runs a step as Slack does (`function_executed`), the bot files an ordinary request,
and the step completes (functions.completeSuccess / completeError) once it is final."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from bot.domain.requests import Status
from bot.domain.steps import ONBOARD
from bot.local.embedded import sandbox_urls
from bot.local.stack import STANDIN_TOKEN
from bot.runtime.bootstrap import slack_client, start_runtime
from bot.slack.listeners.views.request_submission import TRY_AGAIN
from bot.slack_standin.state.functions import Execution
from tests.conftest import ALICE, BOB, BOTH_MODES, COMMUNITY, FRANK, GRACE
from tests.flows import JANE, click, eventually, open_modal, wait_status, worker_process

pytestmark = BOTH_MODES

ONBOARD_JANE = {
    "community_id": COMMUNITY,
    "email": "jane@example.com",
    "first_name": "Jane",
    "last_name": "Doe",
    "credit": 750,
    "requester": ALICE,
}


def run(stack: Any, inputs: dict[str, Any], user: str = ALICE, step: str = ONBOARD) -> str:
    execution_id, answer = stack.driver.run_step(user, step, inputs)
    assert answer.status_code == 200, answer.body
    return execution_id


def finished(stack: Any, execution_id: str, timeout: float = 10.0) -> Execution:
    return stack.standin.wait_for(
        lambda: (
            (e := stack.standin.functions.execution(execution_id)) and e.state != "running" and e
        ),
        timeout=timeout,
        description=f"step {execution_id} completed",
    )


def completions(stack: Any) -> list[str]:
    """Every functions.completeSuccess the bot sent: "ok" or Slack's error."""
    return [c.error or "ok" for c in stack.standin.calls_to("functions.completeSuccess")]


def quiet(stack: Any, seconds: float = 0.5) -> None:
    """Wait until the bot has made no Slack call for `seconds` (its post-ack work is done)."""
    last, since = -1, time.monotonic()
    while time.monotonic() - since < seconds:
        count = len(stack.standin.calls)
        if count != last:
            last, since = count, time.monotonic()
        time.sleep(0.05)


def filed(stack: Any, execution_id: str) -> Any:
    """The request the step filed, once its approval message is posted."""
    request_id = eventually(
        lambda: (e := stack.services.steps.steps.get(execution_id)) and e.request_id,
        what="step filed a request",
    )
    return eventually(
        lambda: (r := stack.services.store.get(request_id)) and r.message_ts and r,
        what="approval message posted",
    )


def test_an_approved_onboarding_completes_the_step_with_done_and_the_credit(stack) -> None:
    execution_id = run(stack, ONBOARD_JANE)
    request = filed(stack, execution_id)
    assert request.requester_id == ALICE  # filed in the workflow user's name
    assert (request.email, request.first_name, str(request.credit)) == (
        "jane@example.com",
        "Jane",
        "750.00",
    )
    assert stack.standin.functions.execution(execution_id).state == "running"  # not yet final
    # Decided later than the execution's own token lives: the bot completes with its token.
    stack.standin.functions.age_tokens(16 * 60)
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE)
    step = finished(stack, execution_id)
    assert step.state == "completed"
    assert step.outputs == {
        "request_id": request.id,
        "status": "done",
        "decided_by": BOB,
        "remaining_credit_eur": "750.00",
    }
    assert step.completions == ["ok"]  # once


def test_a_rejected_request_completes_the_step_with_rejected_and_who(stack) -> None:
    execution_id = run(
        stack,
        {
            "community_id": COMMUNITY,
            "email": "lea@example.com",
            "reason": "Left",
            "requester": ALICE,
        },
        step="offboard_employee",
    )
    request = filed(stack, execution_id)
    click(stack, GRACE, "Reject", request)
    view = stack.standin.wait_for(lambda: stack.standin.open_view(GRACE))
    stack.driver.fill_and_submit(GRACE, view["id"], {"reason": "Not yet"})
    step = finished(stack, execution_id)
    assert step.outputs == {"request_id": request.id, "status": "rejected", "decided_by": GRACE}


def test_an_invalid_input_fails_the_step_with_the_fields_message(stack) -> None:
    execution_id = run(stack, {**ONBOARD_JANE, "email": "not-an-address"})
    step = finished(stack, execution_id)
    assert step.state == "failed"
    assert step.error == "E-mail: Enter a valid e-mail address, such as jane.doe@example.com."
    assert stack.services.store.recent_ids(10) == []  # nothing filed


def test_a_credit_over_the_maximum_fails_with_the_modals_words(stack) -> None:
    execution_id = run(stack, {**ONBOARD_JANE, "credit": 99999})
    step = finished(stack, execution_id)
    assert step.error == "Credit in euros: The maximum credit per employee is €2,500.00."


def test_a_requester_without_the_hr_role_fails_the_step(stack) -> None:
    execution_id = run(stack, {**ONBOARD_JANE, "requester": FRANK}, user=FRANK)
    step = finished(stack, execution_id)
    assert step.state == "failed"
    assert step.error == "Community: Only HR may file requests. Ask an admin for the role."
    assert stack.services.store.recent_ids(10) == []


@pytest.mark.slack_modes("http")
def test_the_step_refuses_like_the_modal_when_the_role_cannot_be_told() -> None:
    # The modal's words for the same case, so a step and a modal never drift apart.
    from bot.domain.steps import ROLE_UNKNOWN

    assert ROLE_UNKNOWN == TRY_AGAIN


def test_a_redelivered_event_files_once(stack) -> None:
    execution_id = run(stack, ONBOARD_JANE)
    request = filed(stack, execution_id)
    execution = stack.standin.functions.execution(execution_id)
    # Slack delivers the same execution again (its ack was lost): nothing new is filed.
    stack.services.steps.receive(execution_id, ONBOARD, execution.inputs)
    assert stack.services.steps.file(execution_id) is None
    assert stack.services.store.recent_ids(10) == [request.id]


def test_a_worker_process_that_never_saw_the_event_completes_the_step(
    make_stack, tmp_path: Path
) -> None:
    stack = make_stack(workers=0)  # this process received the step; it carries out nothing
    execution_id = run(stack, ONBOARD_JANE)
    request = filed(stack, execution_id)
    worker = worker_process(stack, tmp_path)
    try:
        click(stack, BOB, "Approve", request)
        wait_status(stack, request.id, Status.DONE, timeout=30)
        step = finished(stack, execution_id, timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert step.outputs is not None and step.outputs["status"] == "done"
    assert step.completions == ["ok"]
    # The worker process completed it (its log says so), with the bot token.
    assert f"step {execution_id} completed" in stderr.decode()
    call = stack.standin.calls_to("functions.completeSuccess")[-1]
    assert call.ok


def test_a_restart_between_the_event_and_the_completion_loses_nothing(make_stack) -> None:
    first = make_stack(workers=0)
    execution_id = run(first, ONBOARD_JANE)
    request = filed(first, execution_id)
    click(first, BOB, "Approve", request)
    eventually(lambda: first.services.store.round_announced(request.id), what="approval told")
    # Slack refuses completions for now (an outage): the step stays open in Redis.
    first.standin.fail_next("functions.completeSuccess", "internal_error", count=100)
    worker = first.start_worker()
    wait_status(first, request.id, Status.DONE)
    eventually(lambda: completions(first), what="a completion tried")
    worker.stop()
    quiet(first)  # every process that saw the request final has tried, and was refused
    assert set(completions(first)) == {"internal_error"}
    assert first.standin.functions.execution(execution_id).state == "running"
    first.standin.call_log.clear()  # Slack is back
    # A restarted process: a runtime of its own on the same Redis, nothing in memory.
    first.clock.advance(60)
    restarted = start_runtime(
        first.settings,
        slack=slack_client(STANDIN_TOKEN, first.standin.api_url),
        api_urls=sandbox_urls(first.sandbox),
        clock=first.clock,
    )
    try:
        assert restarted.services.steps is not None
        restarted.build_worker().steps.sweep()  # what its sweep does, without the wait
        step = finished(first, execution_id)
        assert step.outputs is not None and step.outputs["status"] == "done"
        # Told again (another notification, another sweep): still one completion.
        first.services.steps.request_changed(request.id)
        restarted.services.steps.sweep()
    finally:
        restarted.close()
    assert completions(first) == ["ok"]
    assert first.standin.functions.execution(execution_id).completions == ["ok"]


def test_an_execution_received_but_never_filed_is_filed_by_the_sweep(make_stack) -> None:
    stack = make_stack(workers=0)
    execution = stack.standin.functions.start(ONBOARD, dict(ONBOARD_JANE))
    # What the ack stores before Slack is answered; the process then died before filing.
    assert stack.services.steps.receive(execution.execution_id, ONBOARD, execution.inputs)
    assert stack.services.store.recent_ids(10) == []
    stack.clock.advance(60)
    job = stack.start_worker()
    job.steps.sweep()
    request = filed(stack, execution.execution_id)
    click(stack, BOB, "Approve", request)
    step = finished(stack, execution.execution_id)
    assert step.outputs is not None and step.outputs["status"] == "done"
    assert step.completions == ["ok"]


@pytest.mark.slack_modes("http")
def test_the_stand_in_refuses_outputs_that_do_not_fit_and_a_second_completion(stack) -> None:
    client = stack.runtime.slack
    execution = stack.standin.functions.start(ONBOARD, dict(ONBOARD_JANE))
    from slack_sdk.errors import SlackApiError

    def error_of(**outputs: Any) -> str:
        try:
            client.functions_completeSuccess(
                function_execution_id=execution.execution_id, outputs=outputs
            )
        except SlackApiError as exc:
            return str(exc.response["error"])
        return ""

    assert error_of(status="done") == "parameter_validation_failed"  # request_id missing
    assert error_of(request_id="R1", status="done", decided_by="bob") == (
        "parameter_validation_failed"  # not a user ID
    )
    assert error_of(request_id="R1", status="done", extra="x") == "parameter_validation_failed"
    # The execution's own token works while it runs (and not after 15 minutes).
    assert stack.standin.functions.token_state(execution.token) == "valid"
    stack.standin.functions.age_tokens(15 * 60)
    assert stack.standin.functions.token_state(execution.token) == "revoked"
    stack.standin.functions.age_tokens(-15 * 60)
    assert error_of(request_id="R1", status="done") == ""
    assert error_of(request_id="R1", status="done") == "execution_not_in_running_state"
    # The execution's own token is revoked once it completed.
    try:
        client.functions_completeError(
            token=execution.token, function_execution_id=execution.execution_id, error="x"
        )
    except SlackApiError as exc:
        assert exc.response["error"] == "token_revoked"
    else:
        raise AssertionError("a completed execution's token still worked")


@pytest.mark.slack_modes("http")
@pytest.mark.parametrize(
    "field, typed, given",
    [
        ("email", "jane@", "jane@"),
        ("credit", "99999", 99999),
        ("credit", "0", 0),
        ("first_name", "   ", "   "),
        ("start_date", "2020-01-01", "2020-01-01"),
    ],
)
def test_a_step_refuses_in_the_very_words_of_the_add_modal(
    stack, field: str, typed: str, given: Any
) -> None:
    from bot.domain.steps import LABELS

    view = open_modal(stack, ALICE, "add")
    modal_values = {"community_id": COMMUNITY, **JANE, field: typed}
    shown = stack.driver.fill_and_submit(ALICE, view["id"], modal_values)
    assert shown.errors and field in shown.errors, shown.errors
    execution_id = run(stack, {**ONBOARD_JANE, field: given})
    step = finished(stack, execution_id)
    assert step.error == f"{LABELS[field]}: {shown.errors[field]}"


def test_an_expired_request_completes_the_step_with_expired_and_no_decider(stack) -> None:
    execution_id = run(stack, ONBOARD_JANE)
    request = filed(stack, execution_id)
    stack.clock.advance(73 * 3600)  # nobody decided within the 72 hours
    stack.services.requests.sweep()  # what the worker's sweep does
    step = finished(stack, execution_id)
    assert step.outputs == {"request_id": request.id, "status": "expired"}
