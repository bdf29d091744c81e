"""Block Kit for a request: the approval message, its status line and the DMs."""

from __future__ import annotations

from typing import Any

from bot.domain.notifier import Event
from bot.domain.requests import MemberRequest, Operation, Status
from bot.slack.blocks.kit import Block, button, context, section
from bot.slack.text import badge, escape, euros, mention, mentions, when

APPROVE = "approve_request"
REJECT = "reject_request"
RETRY = "retry_request"
CANCEL = "cancel_request"
CHANGE_DATE = "change_date"
METADATA_EVENT = "community_request"


def title(request: MemberRequest) -> str:
    return "Onboard employee" if request.operation is Operation.ADD else "Offboard employee"


def summary(request: MemberRequest) -> str:
    """One line for lists and notifications, all user text escaped."""
    verb = "Onboard" if request.operation is Operation.ADD else "Offboard"
    amount = f" with {euros(request.credit)}" if request.operation is Operation.ADD else ""
    who = (
        f"*{escape(request.employee_name)}* ({escape(request.email)})"
        if request.employee_name
        else f"*{escape(request.email)}*"
    )
    return f"`{request.id}` {verb} {who}{amount} — {escape(request.community_name)}"


def status_line(request: MemberRequest) -> str:
    status = request.status
    if status is Status.PENDING:
        got = len(request.approvals)
        need = request.approvals_required
        line = f":hourglass_flowing_sand: Waiting for approval ({got} of {need}"
        line += f": {mentions(request.approver_ids)})" if got else ")"
        return line + f" · expires {when(request.expires_at)}"
    decided = f"{mentions(request.decided_by)} at {when(request.decided_at)}"
    if request.decided_by == "system" and request.decision_reason.startswith("rule "):
        decided = f"policy ({escape(request.decision_reason)}) at {when(request.decided_at)}"
    if status is Status.SCHEDULED:
        return f":calendar: Approved by {decided} · scheduled for {when(request.due_at)}"
    if status in {Status.APPROVED, Status.EXECUTING}:
        return f":white_check_mark: Approved by {decided} · carrying out…"
    if status is Status.DONE:
        return f":white_check_mark: Done · approved by {decided}. {_result(request)}"
    if status is Status.FAILED:
        return (
            f":warning: Failed · approved by {decided}. {escape(request.outcome)}\n"
            f"Correlation ID for Coolblue support: `{escape(request.correlation_id)}`"
        )
    if status is Status.REJECTED:
        return f":x: Rejected by {decided}: {escape(request.decision_reason)}"
    if status is Status.EXPIRED:
        return f":hourglass: Expired at {when(request.decided_at)} without a decision"
    return f":no_entry_sign: Cancelled by {decided}"


def _result(request: MemberRequest) -> str:
    if request.operation is Operation.ADD:
        return f"Remaining credit: *{euros(request.result_credit)}*. {escape(request.outcome)}"
    revoked = (
        f"Revoked credit: *{euros(request.result_credit)}*. "
        if request.result_credit is not None
        else ""
    )
    return revoked + escape(request.outcome)


def details(request: MemberRequest) -> list[Block]:
    fields = [
        f"*Requested by*\n{mention(request.requester_id)}",
        f"*Community*\n{escape(request.community_name)} (`{escape(request.community_id)}`)",
        f"*Employee*\n{escape(request.employee_name) or '—'}",
        f"*E-mail*\n{escape(request.email)}",
    ]
    if request.operation is Operation.ADD:
        fields.append(f"*Credit*\n{euros(request.credit)}")
        if request.external_reference:
            fields.append(f"*Employee reference*\n{escape(request.external_reference)}")
    if request.due_at:
        fields.append(f"*{due_label(request)}*\n{when(request.due_at)}")
    blocks: list[Block] = [
        {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]}
    ]
    if request.note:
        blocks.append(section(f"*Note to the approver*\n{escape(request.note)}"))
    if request.reason:
        blocks.append(section(f"*Reason*\n{escape(request.reason)}"))
    if request.operation is Operation.REMOVE:
        if request.not_a_member and request.status is Status.PENDING:
            community = request.community_name or request.community_id
            blocks.append(
                section(
                    f":warning: {escape(request.email)} is not a member of {escape(community)}"
                    " (Coolblue, when this was filed): there is no credit to revoke, so "
                    "carrying it out will fail unless they join first."
                )
            )
        blocks.append(
            context("The remaining credit is revoked; the employee's Coolblue account remains.")
        )
    return blocks


def approval_message(request: MemberRequest) -> dict[str, Any]:
    """The message in the approvals channel; re-rendered in place after every change."""
    header = f"{title(request)} · `{request.id}`"
    env = badge(request.environment)
    blocks: list[Block] = [section(f"*{header}*" + (f"   {env}" if env else ""))]
    blocks += details(request)
    blocks.append(context(status_line(request)))
    buttons = request_buttons(request)
    if buttons:
        blocks.append({"type": "actions", "block_id": f"decide:{request.id}", "elements": buttons})
    return {
        "text": f"{title(request)} {request.id}: {request.status.value}",
        "blocks": blocks,
        "metadata": {
            "event_type": METADATA_EVENT,
            "event_payload": {
                "request_id": request.id,
                "operation": request.operation.value,
                "status": request.status.value,
            },
        },
    }


def request_buttons(request: MemberRequest) -> list[Block]:
    if request.status is Status.PENDING:
        return [
            button("Approve", APPROVE, request.id, "primary"),
            button("Reject", REJECT, request.id, "danger"),
        ]
    if request.status is Status.FAILED:
        if request.not_a_member:  # a retry cannot succeed: nobody to offboard
            return []
        return [button("Retry", RETRY, request.id, "primary")]
    if request.status is Status.SCHEDULED:
        return [
            button("Change date", CHANGE_DATE, request.id),
            button("Cancel", CANCEL, request.id),
        ]
    return []


def due_label(request: MemberRequest) -> str:
    return "Credit from" if request.operation is Operation.ADD else "Credit revoked at"


_DM_OPENERS = {
    Event.FILED: "Your request was filed and is waiting for approval.",
    Event.APPROVAL_RECORDED: "Your request got an approval; it needs more.",
    Event.APPROVED: "Your request was approved.",
    Event.RETRIED: "Your request is being retried.",
    Event.REJECTED: "Your request was rejected.",
    Event.EXPIRED: "Your request expired without a decision.",
    Event.CANCELLED: "Your request was cancelled.",
    Event.DATE_CHANGED: "The date of your request was changed.",
    Event.DONE: "Your request is done.",
    Event.FAILED: "Your request failed.",
}


_FILED_NO_APPROVAL = "Your request was filed; no approval is needed, so it is carried out at once."


def requester_dm(request: MemberRequest, event: Event) -> dict[str, Any]:
    """A DM telling the requester about `event`, showing the request as it is now."""
    opener = _DM_OPENERS[event]
    if event is Event.FILED and request.status is not Status.PENDING:
        opener = _FILED_NO_APPROVAL if not request.approvals_required else "Your request was filed."
    env = badge(request.environment)
    blocks: list[Block] = [section(f"{opener}\n{summary(request)}")]
    blocks.append(context(status_line(request) + (f"   {env}" if env else "")))
    if event is Event.FILED and request.status is Status.PENDING:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"cancel:{request.id}",
                "elements": [button("Cancel request", CANCEL, request.id)],
            }
        )
    return {"text": f"{_notification(request, event, opener)} ({request.id})", "blocks": blocks}


def filed_dm(request: MemberRequest) -> dict[str, Any]:
    """The "filed" DM as it reads now, for chat.update: the request's current state, and the
    Cancel button only while the request waits. Its `text`, the notification people got,
    stays what it was when the request was filed."""
    return requester_dm(request, Event.FILED)


def _notification(request: MemberRequest, event: Event, opener: str) -> str:
    if event is not Event.FILED:
        return opener
    return _DM_OPENERS[Event.FILED] if request.approvals_required else _FILED_NO_APPROVAL


def due_reminder(request: MemberRequest, offboard_at: str) -> dict[str, Any]:
    """The day before a scheduled offboarding, to the requester, with Cancel."""
    who = escape(request.employee_name) if request.employee_name else escape(request.email)
    text = f"{who}'s credit is revoked tomorrow after {offboard_at}"
    return {
        "text": f"{request.employee_name or request.email}'s credit is revoked tomorrow after "
        f"{offboard_at} ({request.id})",
        "blocks": [
            section(f":bell: {text} ({when(request.due_at)}).\n{summary(request)}"),
            {
                "type": "actions",
                "block_id": f"due:{request.id}",
                "elements": [button("Cancel", CANCEL, request.id, "danger")],
            },
        ],
    }


def escalation(request: MemberRequest, approvers: list[str]) -> dict[str, Any]:
    """The sweep's escalation: the escalation approvers may decide from now on."""
    who = mentions(approvers) or "the escalation approvers"
    return {
        "text": f"Escalated: {request.id} is still waiting for approval",
        "blocks": [
            section(
                f":rotating_light: Escalated to {who}: still waiting for approval, you may "
                f"decide it now. {summary(request)}"
            )
        ],
    }


def reminder(request: MemberRequest) -> dict[str, Any]:
    return {
        "text": f"Reminder: {request.id} is still waiting for approval",
        "blocks": [section(f":bell: Still waiting for approval: {summary(request)}")],
    }
