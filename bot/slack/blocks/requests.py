"""Block Kit for a request: the approval message, its status line and the DMs."""

from __future__ import annotations

from typing import Any

from bot.domain.notifier import Event
from bot.domain.requests import MemberRequest, Operation, Status
from bot.i18n import N_, t
from bot.slack.blocks.kit import Block, button, context, section
from bot.slack.text import badge, escape, euros, mention, mentions, when

APPROVE = "approve_request"
REJECT = "reject_request"
RETRY = "retry_request"
CANCEL = "cancel_request"
CHANGE_DATE = "change_date"
METADATA_EVENT = "community_request"


# A status as a word in a message's notification text (requests and imports share them).
_STATUS_WORDS = {
    "pending": N_("pending"),
    "scheduled": N_("scheduled"),
    "approved": N_("approved"),
    "executing": N_("executing"),
    "done": N_("done"),
    "failed": N_("failed"),
    "rejected": N_("rejected"),
    "expired": N_("expired"),
    "cancelled": N_("cancelled"),
    "stopped": N_("stopped"),
}


def status_word(status: str) -> str:
    """`pending`, `done`…: a status value in the reader's language (unknown ones as they are)."""
    word = _STATUS_WORDS.get(status)
    return t(word) if word else status


def title(request: MemberRequest) -> str:
    return t("Onboard employee") if request.operation is Operation.ADD else t("Offboard employee")


def summary(request: MemberRequest) -> str:
    """One line for lists and notifications, all user text escaped."""
    who = (
        f"*{escape(request.employee_name)}* ({escape(request.email)})"
        if request.employee_name
        else f"*{escape(request.email)}*"
    )
    values = {"id": request.id, "who": who, "community": escape(request.community_name)}
    if request.operation is Operation.ADD:
        return t("`{id}` Onboard {who} with {amount} — {community}", amount=euros(request.credit),
                 **values)  # fmt: skip
    return t("`{id}` Offboard {who} — {community}", **values)


def _decider(request: MemberRequest) -> str:
    """Who decided: people, or the policy rule that decided alone."""
    if request.decided_by == "system" and request.decision_reason.startswith("rule "):
        return t("policy ({rule})", rule=escape(request.decision_reason))
    return mentions(request.decided_by)


def status_line(request: MemberRequest) -> str:
    status = request.status
    if status is Status.PENDING:
        got = len(request.approvals)
        need = request.approvals_required
        expires = when(request.expires_at)
        if got:
            return t(
                ":hourglass_flowing_sand: Waiting for approval ({got} of {need}: {approvers})"
                " · expires {expires}",
                got=got,
                need=need,
                approvers=mentions(request.approver_ids),
                expires=expires,
            )
        return t(
            ":hourglass_flowing_sand: Waiting for approval ({got} of {need}) · expires {expires}",
            got=got,
            need=need,
            expires=expires,
        )
    who, at = _decider(request), when(request.decided_at)
    if status is Status.SCHEDULED:
        return t(
            ":calendar: Approved by {who} at {at} · scheduled for {due}",
            who=who,
            at=at,
            due=when(request.due_at),
        )
    if status in {Status.APPROVED, Status.EXECUTING}:
        return t(":white_check_mark: Approved by {who} at {at} · carrying out…", who=who, at=at)
    if status is Status.DONE:
        return t(
            ":white_check_mark: Done · approved by {who} at {at}. {result}",
            who=who,
            at=at,
            result=_result(request),
        )
    if status is Status.FAILED:
        return t(
            ":warning: Failed · approved by {who} at {at}. {outcome}\n"
            "Correlation ID for Coolblue support: `{correlation_id}`",
            who=who,
            at=at,
            outcome=escape(t(request.outcome)),
            correlation_id=escape(request.correlation_id),
        )
    if status is Status.REJECTED:
        return t(
            ":x: Rejected by {who} at {at}: {reason}",
            who=who,
            at=at,
            reason=escape(request.decision_reason),
        )
    if status is Status.EXPIRED:
        return t(":hourglass: Expired at {at} without a decision", at=at)
    return t(":no_entry_sign: Cancelled by {who} at {at}", who=who, at=at)


def _result(request: MemberRequest) -> str:
    outcome = escape(t(request.outcome))  # the fixed outcomes have words (N_)
    if request.operation is Operation.ADD:
        return t(
            "Remaining credit: *{amount}*. {outcome}",
            amount=euros(request.result_credit),
            outcome=outcome,
        )
    if request.result_credit is not None:
        return t(
            "Revoked credit: *{amount}*. {outcome}",
            amount=euros(request.result_credit),
            outcome=outcome,
        )
    return outcome


def details(request: MemberRequest) -> list[Block]:
    fields = [
        t("*Requested by*\n{who}", who=mention(request.requester_id)),
        t(
            "*Community*\n{name} (`{id}`)",
            name=escape(request.community_name),
            id=escape(request.community_id),
        ),
        t("*Employee*\n{name}", name=escape(request.employee_name) or "—"),
        t("*E-mail*\n{email}", email=escape(request.email)),
    ]
    if request.operation is Operation.ADD:
        fields.append(t("*Credit*\n{amount}", amount=euros(request.credit)))
        if request.external_reference:
            fields.append(
                t("*Employee reference*\n{reference}", reference=escape(request.external_reference))
            )
    if request.due_at:
        fields.append(f"*{due_label(request)}*\n{when(request.due_at)}")
    blocks: list[Block] = [
        {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]}
    ]
    if request.note:
        blocks.append(section(t("*Note to the approver*\n{note}", note=escape(request.note))))
    if request.reason:
        blocks.append(section(t("*Reason*\n{reason}", reason=escape(request.reason))))
    if request.operation is Operation.REMOVE:
        if request.not_a_member and request.status is Status.PENDING:
            community = request.community_name or request.community_id
            blocks.append(
                section(
                    t(
                        ":warning: {email} is not a member of {community} (Coolblue, when this "
                        "was filed): there is no credit to revoke, so carrying it out will fail "
                        "unless they join first.",
                        email=escape(request.email),
                        community=escape(community),
                    )
                )
            )
        blocks.append(
            context(t("The remaining credit is revoked; the employee's Coolblue account remains."))
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
        "text": f"{title(request)} {request.id}: {status_word(request.status.value)}",
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
            button(t("Approve"), APPROVE, request.id, "primary"),
            button(t("Reject"), REJECT, request.id, "danger"),
        ]
    if request.status is Status.FAILED:
        if request.not_a_member:  # a retry cannot succeed: nobody to offboard
            return []
        return [button(t("Retry"), RETRY, request.id, "primary")]
    if request.status is Status.SCHEDULED:
        return [
            button(t("Change date"), CHANGE_DATE, request.id),
            button(t("Cancel"), CANCEL, request.id),
        ]
    return []


def due_label(request: MemberRequest) -> str:
    return t("Credit from") if request.operation is Operation.ADD else t("Credit revoked at")


_DM_OPENERS = {
    Event.FILED: N_("Your request was filed and is waiting for approval."),
    Event.APPROVAL_RECORDED: N_("Your request got an approval; it needs more."),
    Event.APPROVED: N_("Your request was approved."),
    Event.RETRIED: N_("Your request is being retried."),
    Event.REJECTED: N_("Your request was rejected."),
    Event.EXPIRED: N_("Your request expired without a decision."),
    Event.CANCELLED: N_("Your request was cancelled."),
    Event.DATE_CHANGED: N_("The date of your request was changed."),
    Event.DONE: N_("Your request is done."),
    Event.FAILED: N_("Your request failed."),
}


_FILED_NO_APPROVAL = N_(
    "Your request was filed; no approval is needed, so it is carried out at once."
)


def requester_dm(request: MemberRequest, event: Event) -> dict[str, Any]:
    """A DM telling the requester about `event`, showing the request as it is now."""
    opener = t(_DM_OPENERS[event])
    if event is Event.FILED and request.status is not Status.PENDING:
        opener = (
            t(_FILED_NO_APPROVAL)
            if not request.approvals_required
            else t("Your request was filed.")
        )
    env = badge(request.environment)
    blocks: list[Block] = [section(f"{opener}\n{summary(request)}")]
    blocks.append(context(status_line(request) + (f"   {env}" if env else "")))
    if event is Event.FILED and request.status is Status.PENDING:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"cancel:{request.id}",
                "elements": [button(t("Cancel request"), CANCEL, request.id)],
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
    return t(_DM_OPENERS[Event.FILED]) if request.approvals_required else t(_FILED_NO_APPROVAL)


def due_reminder(request: MemberRequest, offboard_at: str) -> dict[str, Any]:
    """The day before a scheduled offboarding, to the requester, with Cancel."""
    who = escape(request.employee_name) if request.employee_name else escape(request.email)
    text = t(
        ":bell: {who}'s credit is revoked tomorrow after {time} ({when}).",
        who=who,
        time=offboard_at,
        when=when(request.due_at),
    )
    return {
        "text": t(
            "{who}'s credit is revoked tomorrow after {time} ({id})",
            who=request.employee_name or request.email,
            time=offboard_at,
            id=request.id,
        ),
        "blocks": [
            section(f"{text}\n{summary(request)}"),
            {
                "type": "actions",
                "block_id": f"due:{request.id}",
                "elements": [button(t("Cancel"), CANCEL, request.id, "danger")],
            },
        ],
    }


def escalation(request: MemberRequest, approvers: list[str]) -> dict[str, Any]:
    """The sweep's escalation: the escalation approvers may decide from now on."""
    who = mentions(approvers) or t("the escalation approvers")
    return {
        "text": t("Escalated: {id} is still waiting for approval", id=request.id),
        "blocks": [
            section(
                t(
                    ":rotating_light: Escalated to {who}: still waiting for approval, you may "
                    "decide it now. {summary}",
                    who=who,
                    summary=summary(request),
                )
            )
        ],
    }


def reminder(request: MemberRequest) -> dict[str, Any]:
    return {
        "text": t("Reminder: {id} is still waiting for approval", id=request.id),
        "blocks": [
            section(t(":bell: Still waiting for approval: {summary}", summary=summary(request)))
        ],
    }
