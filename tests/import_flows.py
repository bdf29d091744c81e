"""Steps people take with /community import, driven over signed HTTP against a LocalStack."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from bot.communities import contract
from bot.domain.bulk import ImportRequest, ImportStatus
from bot.local.stack import APPROVALS_CHANNEL, LocalStack
from bot.slack_standin import DriverResult, Message, SharedFile
from tests.flows import eventually

HEADER = "first name;last name;e-mail;credit"


def people_csv(
    count: int = 0,
    *,
    start: int = 0,
    numbers: list[int] | None = None,
    domain: str = "example.com",
    credit: str = "10",
) -> bytes:
    """Valid onboarding rows (`count` from `start`, or these `numbers`), semicolon
    separated, as Dutch Excel writes them."""
    chosen = numbers if numbers is not None else list(range(start, start + count))
    lines = [HEADER] + [f"Person{i};Number{i};person{i}@{domain};{credit}" for i in chosen]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def open_import(stack: LocalStack, user: str) -> dict[str, Any]:
    before = stack.standin.open_view(user)
    assert stack.driver.command(user, "import").status_code == 200
    return stack.standin.wait_for(
        lambda: (v := stack.standin.open_view(user)) is not None and v != before and v,
        description="the Import modal",
    )


def submit_import(
    stack: LocalStack,
    user: str,
    data: bytes,
    *,
    operation: str = "add",
    note: str = "",
    filename: str = "people.csv",
) -> DriverResult:
    view = open_import(stack, user)
    values: dict[str, Any] = {"csv_file": (filename, data), "operation": operation}
    if note:
        values["note"] = note
    return stack.driver.fill_and_submit(user, view["id"], values)


def imports_posted(stack: LocalStack) -> list[Message]:
    return [
        m
        for m in stack.standin.messages(APPROVALS_CHANNEL)
        if (m.metadata or {}).get("event_type") == "community_import"
    ]


def file_import(stack: LocalStack, user: str, data: bytes, **options: Any) -> ImportRequest:
    """Submit a file and return the import once its approval message is posted."""
    known = {_import_id(m) for m in imports_posted(stack)}
    result = submit_import(stack, user, data, **options)
    assert result.errors is None, result.errors
    message = eventually(
        lambda: next((m for m in imports_posted(stack) if _import_id(m) not in known), None),
        what="the import's approval message",
    )
    request = stack.services.imports.store.get(_import_id(message))
    assert request is not None
    return eventually(
        lambda: (r := stack.services.imports.store.get(request.id)) and r.message_ts and r,
        what="the approval message stored",
    )


def _import_id(message: Message) -> str:
    return str((message.metadata or {}).get("event_payload", {}).get("import_id", ""))


def message_of(stack: LocalStack, request: ImportRequest) -> Message:
    message = stack.standin.message(APPROVALS_CHANNEL, request.message_ts)
    assert message is not None
    return message


def shown(message: Message) -> str:
    """What a message shows, as one string (blocks as JSON, non-ASCII kept)."""
    return json.dumps(message.blocks, ensure_ascii=False)


def click(stack: LocalStack, user: str, label: str, request: ImportRequest) -> DriverResult:
    return stack.driver.click(user, label, channel=APPROVALS_CHANNEL, ts=request.message_ts)


def get(stack: LocalStack, import_id: str) -> ImportRequest:
    found = stack.services.imports.store.get(import_id)
    assert found is not None
    return found


def wait_finished(stack: LocalStack, import_id: str, timeout: float = 60.0) -> ImportRequest:
    return eventually(
        lambda: (r := get(stack, import_id)).finished and r.result_posted and r,
        timeout,
        f"import {import_id} finished and its result posted",
    )


def wait_status(
    stack: LocalStack, import_id: str, *statuses: ImportStatus, timeout: float = 20.0
) -> ImportRequest:
    return eventually(
        lambda: (r := get(stack, import_id)).status in statuses and r,
        timeout,
        f"import {import_id} in {statuses}",
    )


def result_rows(files: list[SharedFile], import_id: str) -> list[dict[str, str]]:
    [shared] = [f for f in files if f.filename == f"import-{import_id}-results.csv"]
    return list(csv.DictReader(io.StringIO(shared.content.decode())))


def created_per_email(stack: LocalStack) -> dict[str, int]:
    """How many creates Coolblue (the sandbox) applied per address (201 answers)."""
    counts: dict[str, int] = {}
    for entry in stack.sandbox.state.requests:
        if entry["operation"] == "createMember" and entry["status"] == 201:
            body = entry["body"] or {}
            email = str(body.get(contract.MEMBER_OBJECT, {}).get(contract.EMAIL_ADDRESS, ""))
            counts[email] = counts.get(email, 0) + 1
    return counts
