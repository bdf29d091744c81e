"""Block Kit for imports: the Import modal, its interim views, the approval message with
its progress bar, and the requester's DMs. Pure functions; all user text escaped."""

from __future__ import annotations

import json
from typing import Any

from bot.communities import Community
from bot.domain.access import Action
from bot.domain.bulk import ImportEvent, ImportRequest, ImportStatus
from bot.domain.requests import Operation
from bot.i18n import N_, t, tn
from bot.slack.blocks.kit import Block, button, context, divider, section
from bot.slack.blocks.requests import status_word
from bot.slack.text import badge, escape, euros, mention, mentions, number, plain, when

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


def title(request: ImportRequest) -> str:
    return t("Bulk onboarding") if request.operation is Operation.ADD else t("Bulk offboarding")


def _modal(
    callback_id: str,
    title_text: str,
    blocks: list[Block],
    environment: str,
    *,
    submit: str | None = None,
    close: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    env = badge(environment)
    if env:
        note = (
            t("{badge} · nothing here reaches real customers", badge=env)
            if environment != "PRODUCTION"
            else env
        )
        blocks = [context(note), *blocks]
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title_text, 24),
        "close": plain(close or t("Cancel"), 24),
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
        {"text": plain(t("Onboard: create members with credit"), 75), "value": Operation.ADD.value},
        {"text": plain(t("Offboard: revoke members' credit"), 75), "value": Operation.REMOVE.value},
    ]
    kinds: Block = {
        "type": "radio_buttons",
        "options": ops,
        "initial_option": ops[0] if operation is Operation.ADD else ops[1],
    }
    size = (
        t("{size} MB", size=number(max_bytes / (1024 * 1024), "0.#####"))
        if max_bytes >= 1024 * 1024
        else t("{size} B", size=max_bytes)
    )
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":warning: {escape(problem)}"))
    blocks += [
        _input(COMMUNITY, t("Community"), community),
        _input(OPERATION, t("Operation"), kinds),
        _input(
            FILE,
            t("CSV file"),
            {"type": "file_input", "filetypes": ["csv", "txt"], "max_files": 1},
            hint=t(
                "Columns: first name, last name, e-mail, credit (reference optional); to "
                "offboard, e-mail (reason optional). At most {rows} rows, {size}.",
                rows=number(max_rows),
                size=size,
            ),
        ),
        _input(
            NOTE,
            t("Note to the approver"),
            {"type": "plain_text_input", "multiline": True, "max_length": 1000}
            | ({"initial_value": note} if note else {}),
            optional=True,
        ),
    ]
    metadata = {"operation": operation.value}
    return _modal(IMPORT_MODAL, t("Import employees"), blocks, environment,
                  submit=t("Import"), metadata=metadata)  # fmt: skip


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
        t("Import employees"),
        [
            section(
                t(
                    ":hourglass_flowing_sand: Checking {rows} rows of {file}…",
                    rows=number(rows),
                    file=escape(file_name),
                )
            )
        ],
        environment,
        close=t("Close"),
    )


def filed_view(request: ImportRequest, environment: str) -> dict[str, Any]:
    return _modal(
        IMPORT_MODAL + "_filed",
        t("Import employees"),
        [
            section(
                t(
                    "Filed: {summary}\n{status}",
                    summary=summary(request),
                    status=status_line(request, request.updated_at),
                )
            )
        ],
        environment,
        close=t("Close"),
    )


def reject_modal(request: ImportRequest, environment: str) -> dict[str, Any]:
    blocks = [
        section(t("Reject {summary}?", summary=summary(request))),
        _input(
            REASON,
            t("Reason"),
            {
                "type": "plain_text_input",
                "multiline": True,
                "max_length": 1000,
                "placeholder": plain(t("Tell the requester why")),
            },
        ),
    ]
    return _modal(
        IMPORT_REJECT,
        t("Reject import"),
        blocks,
        environment,
        submit=t("Reject"),
        metadata={"import_id": request.id},
    )


# The approval message ----------------------------------------------------------------


def summary(request: ImportRequest) -> str:
    """One line: `I1A2…` Bulk onboarding of 310 employees with €232,500.00 — Acme."""
    values = {
        "id": request.id,
        "people": number(request.total),
        "community": escape(request.community_name),
    }
    if request.operation is Operation.ADD:
        return tn(
            "`{id}` Bulk onboarding of {people} employee with {amount} — {community}",
            "`{id}` Bulk onboarding of {people} employees with {amount} — {community}",
            request.total,
            amount=euros(request.total_credit),
            **values,
        )
    return tn(
        "`{id}` Bulk offboarding of {people} employee — {community}",
        "`{id}` Bulk offboarding of {people} employees — {community}",
        request.total,
        **values,
    )


def counts(request: ImportRequest) -> str:
    parts = []
    adding = request.operation is Operation.ADD
    if request.done:
        done = number(request.done)
        parts.append(t("{rows} created", rows=done) if adding else t("{rows} removed", rows=done))
    if request.skipped:
        skipped = number(request.skipped)
        parts.append(
            t("{rows} already members", rows=skipped)
            if adding
            else t("{rows} not members", rows=skipped)
        )
    if request.failed:
        parts.append(t("{rows} failed", rows=number(request.failed)))
    if request.stopped_rows:
        parts.append(t("{rows} not carried out", rows=number(request.stopped_rows)))
    if request.unknown:
        parts.append(t("{rows} outcome unknown", rows=number(request.unknown)))
    return " · ".join(parts) or t("nothing carried out")


def progress_bar(request: ImportRequest, now: float) -> str:
    total = max(request.total, 1)
    filled = round(BAR_WIDTH * request.finished_rows / total)
    bar = "█" * filled + "░" * (BAR_WIDTH - filled)
    percent = 100 * request.finished_rows // total
    rate = request.rate(now)
    parts = [
        t(
            "`{bar}` {percent}% · {done} done · {failed} failed · {remaining} to go",
            bar=bar,
            percent=percent,
            done=number(request.done + request.skipped),
            failed=number(request.failed),
            remaining=number(request.remaining),
        )
    ]
    if rate:
        parts.append(t("{rate} rows/s", rate=number(rate, "#,##0.0")))
        if request.remaining:
            parts.append(t("about {duration} left", duration=_duration(request.remaining / rate)))
    return " · ".join(parts)


def status_line(request: ImportRequest, now: float) -> str:
    status = request.status
    if status is ImportStatus.PENDING:
        got, need = len(request.approvals), request.approvals_required
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
    who, at = mentions(request.decided_by), when(request.decided_at)
    if status is ImportStatus.REJECTED:
        return t(
            ":x: Rejected by {who} at {at}: {reason}",
            who=who,
            at=at,
            reason=escape(request.decision_reason),
        )
    if status is ImportStatus.CANCELLED:
        return t(":heavy_multiplication_x: Cancelled by {who} at {at}", who=who, at=at)
    if status is ImportStatus.EXPIRED:
        return t(":hourglass: Expired at {at} without a decision", at=at)
    if status is ImportStatus.STOPPED:
        stopper, stopped_at = mention(request.stopped_by), when(request.stopped_at)
        if not request.finished:
            return t(
                ":no_entry_sign: Stopped by {stopper} at {stopped_at} · {counts} · "
                "{rows} started rows finishing…",
                stopper=stopper,
                stopped_at=stopped_at,
                counts=counts(request),
                rows=number(request.remaining),
            )
        return t(
            ":no_entry_sign: Stopped by {stopper} at {stopped_at} · approved by {who} at {at}. "
            "{counts}.",
            stopper=stopper,
            stopped_at=stopped_at,
            who=who,
            at=at,
            counts=counts(request),
        )
    if status is ImportStatus.DONE:
        mark = ":warning:" if request.failed else ":white_check_mark:"
        return t(
            "{mark} Done · approved by {who} at {at}. {counts}.",
            mark=mark,
            who=who,
            at=at,
            counts=counts(request),
        )
    if not request.finished_rows:
        return t(":white_check_mark: Approved by {who} at {at} · starting…", who=who, at=at)
    return t(
        ":arrows_counterclockwise: Approved by {who} at {at} · {progress}",
        who=who,
        at=at,
        progress=progress_bar(request, now),
    )


def approval_message(request: ImportRequest, now: float) -> dict[str, Any]:
    """The message in the approvals channel; re-rendered in place (throttled)."""
    env = badge(request.environment)
    header = f"*{title(request)} · `{request.id}`*" + (f"   {env}" if env else "")
    people = number(request.total)
    fields = [
        t("*Requested by*\n{who}", who=mention(request.requester_id)),
        t(
            "*Community*\n{name} (`{id}`)",
            name=escape(request.community_name),
            id=escape(request.community_id),
        ),
        # English says "rows" for any count; Dutch picks the form.
        tn(
            "*File*\n{name} ({rows} rows)",
            "*File*\n{name} ({rows} rows)",
            request.rows_in_file,
            name=escape(request.file_name) or "—",
            rows=number(request.rows_in_file),
        ),
        tn(
            "*To onboard*\n{people} employee",
            "*To onboard*\n{people} employees",
            request.total,
            people=people,
        )
        if request.operation is Operation.ADD
        else tn(
            "*To offboard*\n{people} employee",
            "*To offboard*\n{people} employees",
            request.total,
            people=people,
        ),
    ]
    if request.operation is Operation.ADD:
        fields.append(t("*Total credit*\n{amount}", amount=euros(request.total_credit)))
    fields.append(t("*Refused rows*\n{rows}", rows=number(request.invalid_count)))
    blocks: list[Block] = [
        section(header),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]},
    ]
    if request.note:
        blocks.append(section(t("*Note to the approver*\n{note}", note=escape(request.note))))
    if request.people_preview:
        blocks.append(section(_people(request)))
    if request.invalid_count:
        quoted = "\n".join(
            t("• row {number}: {reason}", number=row, reason=escape(reason))
            for row, reason in request.invalid_preview
        )
        more = request.invalid_count - len(request.invalid_preview)
        tail = "\n" + t("…and {more} more", more=number(more)) if more > 0 else ""
        head = tn(
            "*{rows} row will not be carried out* (the file of refused rows is in the thread):",
            "*{rows} rows will not be carried out* (the file of refused rows is in the thread):",
            request.invalid_count,
            rows=number(request.invalid_count),
        )
        blocks.append(section(f"{head}\n{quoted}{tail}"))
    if request.operation is Operation.REMOVE:
        blocks.append(
            context(t("Each member's remaining credit is revoked; their Coolblue accounts remain."))
        )
    blocks.append(context(status_line(request, now)))
    buttons = _buttons(request)
    if buttons:
        blocks.append({"type": "actions", "block_id": f"import:{request.id}", "elements": buttons})
    return {
        "text": f"{title(request)} {request.id}: {status_word(request.status.value)}",
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
        t("• row {number}: {name}, {email}", number=row, name=escape(name), email=escape(email))
        if name
        else t("• row {number}: {email}", number=row, email=escape(email))
        for row, name, email in request.people_preview
    ]
    more = request.total - len(request.people_preview)
    tail = (
        "\n" + t("…and {more} more: every row is in the file in the thread", more=number(more))
        if more > 0
        else ""
    )
    return t("*Who is in the file*") + "\n" + "\n".join(lines) + tail


_LIST_BUTTONS = {
    Action.APPROVE: (N_("Approve"), APPROVE_IMPORT, "primary"),
    Action.REJECT: (N_("Reject"), REJECT_IMPORT, "danger"),
    Action.CANCEL: (N_("Cancel"), CANCEL_IMPORT, None),
    Action.STOP: (N_("Stop"), STOP_IMPORT, "danger"),
}


def import_line(request: ImportRequest, offered: list[Action], now: float) -> list[Block]:
    """An import in App Home or /community pending, with the buttons its viewer may use."""
    blocks: list[Block] = [divider(), section(summary(request)), context(status_line(request, now))]
    buttons = [
        button(t(label), action_id, request.id, style)
        for label, action_id, style in (_LIST_BUTTONS[a] for a in offered if a in _LIST_BUTTONS)
    ]
    if buttons:
        blocks.append({"type": "actions", "block_id": f"list:{request.id}", "elements": buttons})
    return blocks


def _buttons(request: ImportRequest) -> list[Block]:
    if request.status is ImportStatus.PENDING:
        return [
            button(t("Approve"), APPROVE_IMPORT, request.id, "primary"),
            button(t("Reject"), REJECT_IMPORT, request.id, "danger"),
        ]
    if request.status.is_running:
        stop = button(t("Stop"), STOP_IMPORT, request.id, "danger")
        stop["confirm"] = {
            "title": plain(t("Stop this import?"), 100),
            "text": plain(
                t("Rows not started yet are not carried out; finished rows stay done."), 300
            ),
            "confirm": plain(t("Stop"), 30),
            "deny": plain(t("Keep going"), 30),
        }
        return [stop]
    return []


# DMs ------------------------------------------------------------------------------------

_OPENERS = {
    ImportEvent.FILED: N_("Your import was filed and is waiting for approval."),
    ImportEvent.APPROVAL_RECORDED: N_("Your import got an approval; it needs more."),
    ImportEvent.APPROVED: N_("Your import was approved; its rows are being carried out."),
    ImportEvent.REJECTED: N_("Your import was rejected."),
    ImportEvent.CANCELLED: N_("You cancelled your import; none of its rows is carried out."),
    ImportEvent.EXPIRED: N_("Your import expired without a decision."),
    ImportEvent.STOPPED: N_("Your import was stopped by a manager."),
    ImportEvent.FINISHED: N_("Your import is finished."),
}


def requester_dm(request: ImportRequest, event: ImportEvent, now: float) -> dict[str, Any]:
    """A DM about `event`. It says what the event settled, not the live progress: the
    approval message shows that, and the result file follows when every row is done."""
    opener = t(_OPENERS[event])
    if event is ImportEvent.FILED and request.status is not ImportStatus.PENDING:
        opener = t("Your import was filed; no approval is needed, so it is carried out at once.")
    env = badge(request.environment)
    blocks = [
        section(f"{opener}\n{summary(request)}"),
        context(_dm_line(request, event, now) + (f"   {env}" if env else "")),
    ]
    return {"text": f"{opener} ({request.id})", "blocks": blocks}


def _dm_line(request: ImportRequest, event: ImportEvent, now: float) -> str:
    if event is ImportEvent.APPROVED or (
        event is ImportEvent.FILED and request.status is not ImportStatus.PENDING
    ):
        return t(
            ":white_check_mark: Approved by {who} at {at}. "
            "The result file comes here when every row has its outcome.",
            who=mentions(request.decided_by),
            at=when(request.decided_at),
        )
    if event is ImportEvent.STOPPED:
        return t(
            ":no_entry_sign: Stopped by {who} at {at}: rows not started are not carried out; "
            "rows already done stay done. "
            "The result file comes here when every row has its outcome.",
            who=mention(request.stopped_by),
            at=when(request.stopped_at),
        )
    return status_line(request, now)


def result_comment(request: ImportRequest, *, for_requester: bool) -> str:
    if for_requester:
        return t(
            "Your import `{id}` is finished: {counts}. "
            "One line per row of the file, refused rows included.",
            id=request.id,
            counts=counts(request),
        )
    return t(
        "Result of `{id}`: {counts}. One line per row of the file, refused rows included.",
        id=request.id,
        counts=counts(request),
    )


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 90:
        return t("{seconds} s", seconds=seconds)
    if seconds < 5400:
        return t("{minutes} min", minutes=round(seconds / 60))
    return t("{hours} h", hours=number(seconds / 3600, "0.0"))
