"""Block Kit for imports: the Import modal, its interim views, the approval message with
its progress bar, and the requester's DMs. Pure functions; all user text escaped."""

from __future__ import annotations

import json
from typing import Any

from bot.communities import Community
from bot.domain.access import Action
from bot.domain.bulk import ImportEvent, ImportRequest, ImportStatus
from bot.domain.requests import Operation
from bot.slack.blocks.kit import Block, button, context, divider, section
from bot.slack.text import badge, escape, euros, mention, mentions, plain, when

IMPORT_MODAL = "import_file"
IMPORT_REJECT = "import_reject"
APPROVE_IMPORT = "approve_import"
REJECT_IMPORT = "reject_import"
STOP_IMPORT = "stop_import"
CANCEL_IMPORT = "cancel_import"
METADATA_EVENT = "community_import"

COMMUNITY, OPERATION, FILE, NOTE, REASON = "community_id", "operation", "csv_file", "note", "reason"
PREVIEW_ROWS = 5  # refused rows quoted in the approval message; the file has them all
BAR_WIDTH = 20


def verb(operation: Operation) -> str:
    return "onboarding" if operation is Operation.ADD else "offboarding"


def title(request: ImportRequest) -> str:
    return f"Bulk {verb(request.operation)}"


def _modal(
    callback_id: str,
    title_text: str,
    blocks: list[Block],
    environment: str,
    *,
    submit: str | None = None,
    close: str = "Cancel",
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    env = badge(environment)
    if env:
        note = (
            f"{env} · nothing here reaches real customers" if environment != "PRODUCTION" else env
        )
        blocks = [context(note), *blocks]
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title_text, 24),
        "close": plain(close, 24),
        "blocks": blocks,
        "private_metadata": json.dumps(metadata or {}),
    }
    if submit:
        view["submit"] = plain(submit, 24)
    return view


def import_modal(
    communities: list[Community],
    environment: str,
    *,
    max_rows: int,
    max_bytes: int,
    community_id: str = "",
    operation: Operation = Operation.ADD,
    note: str = "",
    problem: str = "",
) -> dict[str, Any]:
    """The Import modal. `problem` is shown on top when the modal comes back after a file
    was checked outside Slack's 3 seconds (a large file); the answers are kept."""
    options = [{"text": plain(f"{c.name} ({c.id})", 75), "value": c.id} for c in communities]
    chosen = [o for o in options if o["value"] == community_id] or options[:1]
    community: Block = {"type": "static_select", "options": options}
    if len(options) == 1 or community_id:
        community["initial_option"] = chosen[0]
    ops = [
        {"text": plain("Onboard: create members with credit"), "value": Operation.ADD.value},
        {"text": plain("Offboard: revoke members' credit"), "value": Operation.REMOVE.value},
    ]
    kinds: Block = {
        "type": "radio_buttons",
        "options": ops,
        "initial_option": ops[0] if operation is Operation.ADD else ops[1],
    }
    size = f"{max_bytes / (1024 * 1024):g} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes} B"
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":warning: {escape(problem)}"))
    blocks += [
        _input(COMMUNITY, "Community", community),
        _input(OPERATION, "Operation", kinds),
        _input(
            FILE,
            "CSV file",
            {"type": "file_input", "filetypes": ["csv", "txt"], "max_files": 1},
            hint=(
                "Columns: first name, last name, e-mail, credit (reference optional); to "
                f"offboard, e-mail (reason optional). At most {max_rows:,} rows, {size}."
            ),
        ),
        _input(
            NOTE,
            "Note to the approver",
            {"type": "plain_text_input", "multiline": True, "max_length": 1000}
            | ({"initial_value": note} if note else {}),
            optional=True,
        ),
    ]
    metadata = {"operation": operation.value}
    return _modal(IMPORT_MODAL, "Import employees", blocks, environment, submit="Import",
                  metadata=metadata)  # fmt: skip


def _input(
    block_id: str, label: str, element: Block, *, optional: bool = False, hint: str = ""
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {"action_id": block_id, **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def checking_view(rows: int, file_name: str, environment: str) -> dict[str, Any]:
    """Shown while a large file's rows are checked, after Slack's 3 seconds."""
    return _modal(
        IMPORT_MODAL + "_checking",
        "Import employees",
        [section(f":hourglass_flowing_sand: Checking {rows:,} rows of {escape(file_name)}…")],
        environment,
        close="Close",
    )


def filed_view(request: ImportRequest, environment: str) -> dict[str, Any]:
    return _modal(
        IMPORT_MODAL + "_filed",
        "Import employees",
        [section(f"Filed: {summary(request)}\n{status_line(request, request.updated_at)}")],
        environment,
        close="Close",
    )


def reject_modal(request: ImportRequest, environment: str) -> dict[str, Any]:
    blocks = [
        section(f"Reject {summary(request)}?"),
        _input(
            REASON,
            "Reason",
            {
                "type": "plain_text_input",
                "multiline": True,
                "max_length": 1000,
                "placeholder": plain("Tell the requester why"),
            },
        ),
    ]
    return _modal(
        IMPORT_REJECT,
        "Reject import",
        blocks,
        environment,
        submit="Reject",
        metadata={"import_id": request.id},
    )


# The approval message ----------------------------------------------------------------


def summary(request: ImportRequest) -> str:
    """One line: `I1A2…` Bulk onboarding of 310 employees with €232,500.00 — Acme."""
    amount = f" with {euros(request.total_credit)}" if request.operation is Operation.ADD else ""
    people = "employee" if request.total == 1 else "employees"
    return (
        f"`{request.id}` {title(request)} of {request.total:,} {people}{amount} — "
        f"{escape(request.community_name)}"
    )


def counts(request: ImportRequest) -> str:
    parts = []
    if request.done:
        parts.append(
            f"{request.done:,} {'created' if request.operation is Operation.ADD else 'removed'}"
        )
    if request.skipped:
        word = "already members" if request.operation is Operation.ADD else "not members"
        parts.append(f"{request.skipped:,} {word}")
    if request.failed:
        parts.append(f"{request.failed:,} failed")
    if request.stopped_rows:
        parts.append(f"{request.stopped_rows:,} not carried out")
    if request.unknown:
        parts.append(f"{request.unknown:,} outcome unknown")
    return " · ".join(parts) or "nothing carried out"


def progress_bar(request: ImportRequest, now: float) -> str:
    total = max(request.total, 1)
    filled = round(BAR_WIDTH * request.finished_rows / total)
    bar = "█" * filled + "░" * (BAR_WIDTH - filled)
    percent = 100 * request.finished_rows // total
    rate = request.rate(now)
    pace = f" · {rate:,.1f} rows/s" if rate else ""
    left = (
        f" · about {_duration(request.remaining / rate)} left" if rate and request.remaining else ""
    )
    return (
        f"`{bar}` {percent}% · {request.done + request.skipped:,} done · "
        f"{request.failed:,} failed · {request.remaining:,} to go{pace}{left}"
    )


def status_line(request: ImportRequest, now: float) -> str:
    status = request.status
    if status is ImportStatus.PENDING:
        got, need = len(request.approvals), request.approvals_required
        line = f":hourglass_flowing_sand: Waiting for approval ({got} of {need}"
        line += f": {mentions(request.approver_ids)})" if got else ")"
        return line + f" · expires {when(request.expires_at)}"
    decided = f"{mentions(request.decided_by)} at {when(request.decided_at)}"
    if status is ImportStatus.REJECTED:
        return f":x: Rejected by {decided}: {escape(request.decision_reason)}"
    if status is ImportStatus.CANCELLED:
        return f":heavy_multiplication_x: Cancelled by {decided}"
    if status is ImportStatus.EXPIRED:
        return f":hourglass: Expired at {when(request.decided_at)} without a decision"
    if status is ImportStatus.STOPPED:
        stopped = f"Stopped by {mention(request.stopped_by)} at {when(request.stopped_at)}"
        if not request.finished:
            return (
                f":no_entry_sign: {stopped} · {counts(request)} · "
                f"{request.remaining:,} started rows finishing…"
            )
        return f":no_entry_sign: {stopped} · approved by {decided}. {counts(request)}."
    if status is ImportStatus.DONE:
        mark = ":warning:" if request.failed else ":white_check_mark:"
        return f"{mark} Done · approved by {decided}. {counts(request)}."
    if not request.finished_rows:
        return f":white_check_mark: Approved by {decided} · starting…"
    return f":arrows_counterclockwise: Approved by {decided} · {progress_bar(request, now)}"


def approval_message(request: ImportRequest, now: float) -> dict[str, Any]:
    """The message in the approvals channel; re-rendered in place (throttled)."""
    env = badge(request.environment)
    header = f"*{title(request)} · `{request.id}`*" + (f"   {env}" if env else "")
    fields = [
        f"*Requested by*\n{mention(request.requester_id)}",
        f"*Community*\n{escape(request.community_name)} (`{escape(request.community_id)}`)",
        f"*File*\n{escape(request.file_name) or '—'} ({request.rows_in_file:,} rows)",
        f"*To {'onboard' if request.operation is Operation.ADD else 'offboard'}*\n"
        f"{request.total:,} {'employee' if request.total == 1 else 'employees'}",
    ]
    if request.operation is Operation.ADD:
        fields.append(f"*Total credit*\n{euros(request.total_credit)}")
    fields.append(f"*Refused rows*\n{request.invalid_count:,}")
    blocks: list[Block] = [
        section(header),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": t} for t in fields]},
    ]
    if request.note:
        blocks.append(section(f"*Note to the approver*\n{escape(request.note)}"))
    if request.people_preview:
        blocks.append(section(_people(request)))
    if request.invalid_count:
        quoted = "\n".join(
            f"• row {number}: {escape(reason)}" for number, reason in request.invalid_preview
        )
        more = request.invalid_count - len(request.invalid_preview)
        tail = f"\n…and {more:,} more" if more > 0 else ""
        rows = "1 row" if request.invalid_count == 1 else f"{request.invalid_count:,} rows"
        blocks.append(
            section(
                f"*{rows} will not be carried out* (the file of refused rows is in the "
                f"thread):\n{quoted}{tail}"
            )
        )
    if request.operation is Operation.REMOVE:
        blocks.append(
            context("Each member's remaining credit is revoked; their Coolblue accounts remain.")
        )
    blocks.append(context(status_line(request, now)))
    buttons = _buttons(request)
    if buttons:
        blocks.append({"type": "actions", "block_id": f"import:{request.id}", "elements": buttons})
    return {
        "text": f"{title(request)} {request.id}: {request.status.value}",
        "blocks": blocks,
        "metadata": {
            "event_type": METADATA_EVENT,
            "event_payload": {
                "import_id": request.id,
                "operation": request.operation.value,
                "status": request.status.value if not request.finished else "finished",
                "rows": request.total,
                "finished_rows": request.finished_rows,
            },
        },
    }


def _people(request: ImportRequest) -> str:
    """Who the file is about: the first accepted rows, the rest in the thread's file."""
    lines = [
        f"• row {number}: " + (f"{escape(name)}, {escape(email)}" if name else escape(email))
        for number, name, email in request.people_preview
    ]
    more = request.total - len(request.people_preview)
    tail = f"\n…and {more:,} more: every row is in the file in the thread" if more > 0 else ""
    return "*Who is in the file*\n" + "\n".join(lines) + tail


_LIST_BUTTONS = {
    Action.APPROVE: ("Approve", APPROVE_IMPORT, "primary"),
    Action.REJECT: ("Reject", REJECT_IMPORT, "danger"),
    Action.CANCEL: ("Cancel", CANCEL_IMPORT, None),
    Action.STOP: ("Stop", STOP_IMPORT, "danger"),
}


def import_line(request: ImportRequest, offered: list[Action], now: float) -> list[Block]:
    """An import in App Home or /community pending, with the buttons its viewer may use."""
    blocks: list[Block] = [divider(), section(summary(request)), context(status_line(request, now))]
    buttons = [
        button(label, action_id, request.id, style)
        for label, action_id, style in (_LIST_BUTTONS[a] for a in offered if a in _LIST_BUTTONS)
    ]
    if buttons:
        blocks.append({"type": "actions", "block_id": f"list:{request.id}", "elements": buttons})
    return blocks


def _buttons(request: ImportRequest) -> list[Block]:
    if request.status is ImportStatus.PENDING:
        return [
            button("Approve", APPROVE_IMPORT, request.id, "primary"),
            button("Reject", REJECT_IMPORT, request.id, "danger"),
        ]
    if request.status.is_running:
        stop = button("Stop", STOP_IMPORT, request.id, "danger")
        stop["confirm"] = {
            "title": plain("Stop this import?"),
            "text": plain("Rows not started yet are not carried out; finished rows stay done."),
            "confirm": plain("Stop"),
            "deny": plain("Keep going"),
        }
        return [stop]
    return []


# DMs ------------------------------------------------------------------------------------

_OPENERS = {
    ImportEvent.FILED: "Your import was filed and is waiting for approval.",
    ImportEvent.APPROVAL_RECORDED: "Your import got an approval; it needs more.",
    ImportEvent.APPROVED: "Your import was approved; its rows are being carried out.",
    ImportEvent.REJECTED: "Your import was rejected.",
    ImportEvent.CANCELLED: "You cancelled your import; none of its rows is carried out.",
    ImportEvent.EXPIRED: "Your import expired without a decision.",
    ImportEvent.STOPPED: "Your import was stopped by a manager.",
    ImportEvent.FINISHED: "Your import is finished.",
}


def requester_dm(request: ImportRequest, event: ImportEvent, now: float) -> dict[str, Any]:
    """A DM about `event`. It says what the event settled, not the live progress: the
    approval message shows that, and the result file follows when every row is done."""
    opener = _OPENERS[event]
    if event is ImportEvent.FILED and request.status is not ImportStatus.PENDING:
        opener = "Your import was filed; no approval is needed, so it is carried out at once."
    env = badge(request.environment)
    blocks = [
        section(f"{opener}\n{summary(request)}"),
        context(_dm_line(request, event, now) + (f"   {env}" if env else "")),
    ]
    return {"text": f"{opener} ({request.id})", "blocks": blocks}


def _dm_line(request: ImportRequest, event: ImportEvent, now: float) -> str:
    follows = "The result file comes here when every row has its outcome."
    if event is ImportEvent.APPROVED or (
        event is ImportEvent.FILED and request.status is not ImportStatus.PENDING
    ):
        who = f"{mentions(request.decided_by)} at {when(request.decided_at)}"
        return f":white_check_mark: Approved by {who}. {follows}"
    if event is ImportEvent.STOPPED:
        stopped = f"{mention(request.stopped_by)} at {when(request.stopped_at)}"
        return (
            f":no_entry_sign: Stopped by {stopped}: rows not started are not carried out; "
            f"rows already done stay done. {follows}"
        )
    return status_line(request, now)


def result_comment(request: ImportRequest, *, for_requester: bool) -> str:
    head = (
        f"Your import `{request.id}` is finished" if for_requester else f"Result of `{request.id}`"
    )
    return f"{head}: {counts(request)}. One line per row of the file, refused rows included."


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
