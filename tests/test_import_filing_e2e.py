"""/community import, up to the decision: the modal, the file fetched from Slack, problems
on the file field, the approval message with the refused rows' file, who may decide.
Real Redis, the bot over HTTP, the Slack stand-in serving the attached file, the sandbox."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.domain.bulk import ImportStatus
from bot.domain.requests import Status
from bot.local.stack import APPROVALS_CHANNEL
from tests.conftest import ALICE, BOB, DAVE, FRANK, GRACE
from tests.flows import JANE, eventually, file_request, open_modal
from tests.import_flows import (
    click,
    file_import,
    get,
    imports_posted,
    message_of,
    open_import,
    people_csv,
    submit_import,
    wait_status,
)


def text_of(message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def test_hr_opens_the_import_modal_with_a_file_input(stack):
    view = open_import(stack, ALICE)
    blocks = {b.get("block_id"): b for b in view["blocks"] if b.get("type") == "input"}
    assert list(blocks) == ["community_id", "operation", "csv_file", "note"]
    assert blocks["csv_file"]["element"]["type"] == "file_input"
    assert blocks["note"]["optional"] is True
    assert "5,000 rows" in blocks["csv_file"]["hint"]["text"]

    before = len(stack.standin.ephemerals(FRANK))
    stack.driver.command(FRANK, "import")
    shown = stack.standin.wait_for(lambda: stack.standin.ephemerals(FRANK)[before:])
    assert "Only HR and admins can import employees from a file" in shown[0]["text"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"name;age\nJane;40\n", "must name the columns"),
        (b"e-mail;first name\njane@example.com;Jane\n", "no last name and credit columns"),
        (b"PK\x03\x04\x14\x00\x06\x00rest of a workbook", ".xlsx"),
        ("e-mail\nJosé".encode("cp1252"), "not UTF-8"),
        (b"first name;last name;e-mail;credit\n", "no rows"),
    ],
)
def test_a_problem_with_the_file_shows_on_the_file_field_and_keeps_the_modal(stack, data, words):
    result = submit_import(stack, ALICE, data, note="Kept")
    assert result.errors is not None and set(result.errors) == {"csv_file"}
    assert words in result.errors["csv_file"]
    view = stack.standin.open_view(ALICE)
    assert view is not None and view["callback_id"] == "import_file"
    note = view["state"]["values"]["note"]["note"]["value"]
    assert note == "Kept"  # the rest of the modal is kept
    assert imports_posted(stack) == []


def test_size_and_row_caps_are_settings(make_stack):
    stack = make_stack(import_max_bytes=2048, import_max_rows=3)
    too_many = submit_import(stack, ALICE, people_csv(4))
    assert "4 rows; an import takes at most 3" in too_many.errors["csv_file"]
    big = submit_import(stack, ALICE, people_csv(3) + b"x" * 4096)
    assert "at most 2 KB" in big.errors["csv_file"]
    assert imports_posted(stack) == []


def test_no_valid_row_is_refused_at_submission(stack):
    data = b"first name;last name;e-mail;credit\nA;B;not-an-address;10\nC;D;c@example.com;1.250\n"
    result = submit_import(stack, ALICE, data)
    refused = result.errors["csv_file"]
    assert "Nothing to import" in refused and "row 2: e-mail" in refused
    assert "row 3: credit" in refused and "reads two ways" in refused
    assert imports_posted(stack) == []


def test_more_credit_than_one_import_may_give_is_refused(make_stack):
    stack = make_stack(import_max_total_credit_eur="25.00")
    result = submit_import(stack, ALICE, people_csv(3, credit="10"))
    assert (
        "add up to €30.00" in result.errors["csv_file"]
        and "at most €25.00" in result.errors["csv_file"]
    )
    assert imports_posted(stack) == []


def test_a_slow_slack_gets_press_import_again_not_a_crash(make_stack):
    stack = make_stack(import_download_seconds=0.3)
    stack.standin.uploads.download_delay = 1.0
    result = submit_import(stack, ALICE, people_csv(2))
    assert result.status_code == 200
    assert "Press Import again" in result.errors["csv_file"]
    [(_, with_token)] = stack.standin.uploads.downloads()
    assert with_token  # fetched from url_private with the bot token
    stack.standin.uploads.download_delay = 0.0
    view = stack.standin.open_view(ALICE)
    again = stack.driver.fill_and_submit(ALICE, view["id"], {"csv_file": ("p.csv", people_csv(2))})
    assert again.errors is None
    eventually(lambda: len(imports_posted(stack)) == 1, what="the import filed")


def test_the_whole_file_becomes_one_request_shown_with_its_refused_rows(stack):
    data = (
        "\ufeffVoornaam;Achternaam;E-mailadres;Tegoed;Referentie\r\n"
        "Jane;Doe;jane@example.com;€ 750,00;HR-1\r\n"
        "John;Roe;john@example.com;1.250,50;\r\n"
        "Bad;Amount;bad@example.com;1.250;\r\n"
        "Twice;One;twice@example.com;10;\r\n"
        "Twice;Two;Twice@Example.com;10;\r\n"
        "<!channel>;Evil;evil@example.com;5;\r\n"
    ).encode()
    request = file_import(stack, ALICE, data, note="Starts on Monday")

    assert request.status is ImportStatus.PENDING and request.total == 3
    assert request.invalid_count == 3 and str(request.total_credit) == "2005.50"
    message = message_of(stack, request)
    shown = text_of(message)
    assert "Bulk onboarding" in shown and "€2,005.50" in shown and "Starts on Monday" in shown
    assert "3 rows will not be carried out" in shown and "row 4: credit" in shown
    assert "row 5: e-mail" in shown and "<!channel>" not in shown  # user text escaped
    assert message.metadata["event_payload"]["status"] == "pending"
    thread = eventually(
        lambda: [f for f in stack.standin.files(APPROVALS_CHANNEL) if "refused" in f.filename]
    )
    rows = list(csv.DictReader(io.StringIO(thread[0].content.decode())))
    assert [(r["row"], r["email"]) for r in rows] == [
        ("4", "bad@example.com"),
        ("5", "twice@example.com"),
        ("6", "Twice@Example.com"),
    ]
    assert "also on row 6" in rows[1]["reason"] and "also on row 5" in rows[2]["reason"]
    assert thread[0].thread_ts == request.message_ts
    dm = stack.standin.wait_for(lambda: stack.standin.dms(ALICE))
    assert request.id in dm[-1].text


def test_neither_the_requester_nor_anyone_named_in_the_file_may_decide(stack):
    # Dave (admin) files a file that names Bob; Grace may decide, Dave and Bob may not.
    data = people_csv(2) + b"Bob;Manager;bob@acme.nl;10\r\n"
    request = file_import(stack, DAVE, data)
    click(stack, DAVE, "Approve", request)
    said = stack.standin.wait_for(lambda: stack.standin.ephemerals(DAVE))
    assert "You filed this import" in said[-1]["text"]
    click(stack, BOB, "Approve", request)
    said = stack.standin.wait_for(lambda: stack.standin.ephemerals(BOB))
    assert "file names you" in said[-1]["text"]
    assert get(stack, request.id).status is ImportStatus.PENDING
    click(stack, GRACE, "Approve", request)
    wait_status(stack, request.id, ImportStatus.APPROVED, ImportStatus.EXECUTING, ImportStatus.DONE)


def test_a_manager_whose_email_slack_will_not_give_is_refused(stack):
    request = file_import(stack, ALICE, people_csv(2))
    stack.standin.call_log.fail_next("users.info", "user_not_found", count=5)
    click(stack, GRACE, "Approve", request)
    said = stack.standin.wait_for(lambda: stack.standin.ephemerals(GRACE))
    assert "did not tell me your e-mail address" in said[-1]["text"]
    assert get(stack, request.id).status is ImportStatus.PENDING


def test_imports_may_need_more_approvers_than_single_requests(make_stack):
    stack = make_stack(import_approvals_required=2)
    request = file_import(stack, ALICE, people_csv(2))
    assert request.approvals_required == 2
    click(stack, BOB, "Approve", request)
    eventually(lambda: len(get(stack, request.id).approvals) == 1)
    assert get(stack, request.id).status is ImportStatus.PENDING
    click(stack, GRACE, "Approve", request)
    wait_status(stack, request.id, ImportStatus.APPROVED, ImportStatus.EXECUTING, ImportStatus.DONE)


def test_a_rejected_import_frees_its_addresses(stack):
    request = file_import(stack, ALICE, people_csv(2))
    click(stack, BOB, "Reject", request)
    view = stack.standin.wait_for(lambda: stack.standin.open_view(BOB))
    eventually(lambda: stack.services.users.cached_email_of(BOB), what="Bob's address known")
    empty = stack.driver.fill_and_submit(BOB, view["id"], {"reason": ""})
    assert "Say why" in empty.errors["reason"]
    done = stack.driver.fill_and_submit(BOB, view["id"], {"reason": "Wrong community"})
    assert done.errors is None, done.errors
    rejected = wait_status(stack, request.id, ImportStatus.REJECTED)
    assert rejected.decision_reason == "Wrong community"
    eventually(lambda: "Rejected by" in text_of(message_of(stack, request)))
    assert stack.sandbox.state.members() == []
    # Its people may be filed again at once: the rows' claims went with the rejection.
    again = file_import(stack, ALICE, people_csv(2))
    assert again.total == 2 and again.invalid_count == 0


def test_a_row_whose_address_is_open_elsewhere_is_refused_with_a_pointer(stack):
    single = file_request(stack, ALICE, {**JANE, "email": "person1@example.com"})
    running = file_import(stack, ALICE, people_csv(1, start=5))
    overlapping = people_csv(3) + b"Five;Again;person5@example.com;10\r\n"
    request = file_import(stack, ALICE, overlapping)
    assert request.total == 2 and request.invalid_count == 2
    refused = dict(request.invalid_preview)
    assert f"request {single.id} for this address is still waiting" in refused[3]
    assert f"already in import {running.id} (row 2)" in refused[5]
    # And the other way round: a single request for someone in an open import is refused.
    add = open_modal(stack, ALICE, "add")
    result = stack.driver.fill_and_submit(
        ALICE, add["id"], {**JANE, "email": "person0@example.com"}
    )
    assert f"{request.id}-2 is already open" in result.errors["email"]
    assert stack.services.store.get(single.id).status is Status.PENDING


def test_a_large_file_is_checked_after_the_ack_behind_a_checking_view(make_stack):
    stack = make_stack(import_inline_rows=5)
    result = submit_import(stack, ALICE, people_csv(8))
    assert result.errors is None and result.view["callback_id"] == "import_file_checking"
    filed = stack.standin.wait_for(
        lambda: (v := stack.standin.open_view(ALICE))["callback_id"] == "import_file_filed" and v,
        timeout=20,
    )
    assert "8 employees" in json.dumps(filed["blocks"])
    eventually(lambda: imports_posted(stack), what="the approval message")

    bad = b"first name;last name;e-mail;credit\n" + b"A;B;no-address;1\n" * 8
    result = submit_import(stack, ALICE, bad, note="Kept")
    assert result.view["callback_id"] == "import_file_checking"
    back = stack.standin.wait_for(
        lambda: (v := stack.standin.open_view(ALICE))["callback_id"] == "import_file" and v,
        timeout=20,
    )
    shown = json.dumps(back["blocks"])
    assert "Nothing to import" in shown and "Attach the file again" in shown
    note = next(b for b in back["blocks"] if b.get("block_id") == "note")
    assert note["element"]["initial_value"] == "Kept"
    assert len(imports_posted(stack)) == 1


def test_an_import_nobody_decides_expires_and_frees_its_addresses(stack):
    clicked = file_import(stack, ALICE, people_csv(2))
    swept = file_import(stack, ALICE, people_csv(2, start=10))
    stack.clock.advance(73 * 3600)  # past REQUEST_EXPIRY_HOURS

    click(stack, BOB, "Approve", clicked)
    said = stack.standin.wait_for(lambda: stack.standin.ephemerals(BOB))
    assert "expired" in said[-1]["text"]
    assert stack.services.imports.service.sweep() == 1  # the other one, by the sweep
    for request in (clicked, swept):
        assert get(stack, request.id).status is ImportStatus.EXPIRED
        eventually(lambda r=request: "Expired at" in text_of(message_of(stack, r)))
    assert stack.sandbox.state.members() == []
    again = file_import(stack, ALICE, people_csv(12))  # their rows' addresses are free
    assert again.total == 12 and again.invalid_count == 0
