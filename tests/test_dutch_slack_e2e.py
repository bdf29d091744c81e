"""Dutch and English in Slack (issue 20), over signed HTTP against the stand-in: work done
later for someone else is written in the reader's language. A Dutch requester's DMs are
Dutch while the English approver acts in English; an approval message follows its
community's policy `language`, not whoever filed it; a Dutch requester's import result file
opens as columns in Dutch Excel (`;`, decimal comma, a BOM) with Dutch headers."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from bot.domain.requests import Status
from bot.local.stack import APPROVALS_CHANNEL
from tests.conftest import ALICE, BOB, DAVE, GRACE
from tests.flows import (
    JANE,
    approval_message,
    click,
    click_as_shown,
    ephemeral_after,
    file_request,
    wait_status,
)
from tests.import_flows import click as click_import
from tests.import_flows import file_import, open_import, people_csv, wait_finished

DUTCH_AMOUNT = "€\u00a0750,00"  # CLDR's Dutch: a non-breaking space, a decimal comma
ENGLISH_AMOUNT = "€750.00"
BOM = b"\xef\xbb\xbf"


def shown(message) -> str:
    return message.text + " " + json.dumps(message.blocks, ensure_ascii=False)


def test_a_dutch_requester_reads_dutch_dms_while_the_approver_acts_in_english(stack) -> None:
    stack.standin.directory.set_locale(ALICE, "nl-NL")
    request = file_request(stack, ALICE, JANE)
    # The approval message is the community's (no policy language: English), even though
    # Alice, who is Dutch, filed it.
    assert ENGLISH_AMOUNT in shown(approval_message(stack, request))

    assert click(stack, BOB, "Approve", request).status_code == 200
    wait_status(stack, request.id, Status.DONE)
    done = stack.standin.wait_for(
        lambda: (
            (m := approval_message(stack, request)).metadata["event_payload"]["status"] == "done"
            and m
        ),
        description="the approval message shows the request done",
    )
    assert ENGLISH_AMOUNT in shown(done) and DUTCH_AMOUNT not in shown(done)

    # Alice's DMs (filed, approved, done), sent from Bob's click and the worker: Dutch.
    dms = stack.standin.wait_for(
        lambda: len(m := stack.standin.messages(stack.standin.dm_channel(ALICE))) >= 3 and m,
        description="Alice's DMs about the request",
    )
    assert len(dms) >= 3
    for dm in dms:
        assert DUTCH_AMOUNT in shown(dm), shown(dm)
        assert ENGLISH_AMOUNT not in shown(dm)


NL = "cc-acme-nl"
POLICY = f"""
[defaults]
approvals = {{ add = 1, remove = 1 }}

[communities.{NL}]
channel = "C0APPROVNL"
requesters = ["{ALICE}"]
approvers = ["{BOB}"]
language = "nl"
"""


def test_an_approval_message_is_written_in_its_communitys_language(
    make_stack, tmp_path: Path
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    stack = make_stack(
        policy_file=str(path),
        roles_hr="",
        roles_manager="",
        roles_support="",
        roles_admin=DAVE,
        sandbox_communities="cc-acme-nl:Acme NL",
    )
    # Alice reads English; the NL community's approval message is Dutch all the same.
    request = file_request(stack, ALICE, {**JANE, "community_id": "cc-acme-nl"})
    message = stack.standin.message(request.channel, request.message_ts)
    assert message is not None and request.channel == "C0APPROVNL"
    assert DUTCH_AMOUNT in shown(message) and ENGLISH_AMOUNT not in shown(message)
    [dm, *_] = stack.standin.wait_for(
        lambda: stack.standin.messages(stack.standin.dm_channel(ALICE)),
        description="Alice's DM",
    )
    assert ENGLISH_AMOUNT in shown(dm)

    click = stack.driver.click(BOB, "Goedkeuren", channel=request.channel, ts=request.message_ts)
    assert click.status_code == 200
    wait_status(stack, request.id, Status.DONE)
    decided = stack.standin.message(request.channel, request.message_ts)
    assert decided is not None and DUTCH_AMOUNT in shown(decided)

    # An import there: the file of the people it names, in the approval message's thread,
    # is written for the community's approvers: Dutch.
    view = open_import(stack, ALICE)
    values = {"csv_file": ("people.csv", people_csv(2)), "operation": "add"}
    result = stack.driver.fill_and_submit(ALICE, view["id"], {**values, "community_id": NL})
    assert result.errors is None, result.errors
    people = stack.standin.wait_for(
        lambda: next(
            (f for f in stack.standin.files("C0APPROVNL") if f.filename.endswith("-people.csv")),
            None,
        ),
        description="the people file in the import's thread",
    )
    assert people.title.startswith("Om wie het gaat in ")
    assert people.content.startswith(BOM)
    rows = list(csv.reader(io.StringIO(people.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["rij", "voornaam", "achternaam", "e-mail", "tegoed"]
    assert rows[1][1:] == ["Person0", "Number0", "person0@example.com", "10,00"]


def test_a_dutch_requesters_import_result_opens_as_columns_in_dutch_excel(stack) -> None:
    stack.standin.directory.set_locale(ALICE, "nl-BE")
    request = file_import(stack, ALICE, people_csv(3) + b"Bad;Amount;bad@example.com;1.250\r\n")
    click_import(stack, BOB, "Approve", request)
    wait_finished(stack, request.id)
    name = f"import-{request.id}-results.csv"

    [mine] = [f for f in stack.standin.files(stack.standin.dm_channel(ALICE)) if f.filename == name]
    assert mine.content.startswith(BOM)
    assert mine.title == f"Resultaat van import {request.id}"
    rows = list(csv.reader(io.StringIO(mine.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["rij", "e-mail", "uitkomst", "resterend tegoed", "correlatie_id", "reden"]
    assert [r[0] for r in rows[1:]] == ["2", "3", "4", "5"]
    assert {r[2] for r in rows[1:4]} == {"aangemeld"}
    assert rows[1][3] == "10,00"  # a decimal comma: Dutch Excel reads a number
    assert rows[4][2] == "geweigerd"

    # The copy in the approval message's thread is the community's: English, as before.
    [theirs] = [f for f in stack.standin.files(APPROVALS_CHANNEL) if f.filename == name]
    assert not theirs.content.startswith(BOM)
    english = list(csv.DictReader(io.StringIO(theirs.content.decode())))
    assert english[0]["outcome"] == "created" and english[0]["remaining_credit"] == "10.00"
    assert theirs.title == f"Result of import {request.id}"


def test_a_dutch_approver_is_refused_in_dutch_and_an_english_one_in_english(stack) -> None:
    stack.standin.directory.set_locale(GRACE, "nl-NL")
    request = file_request(stack, ALICE, JANE)
    stale = approval_message(stack, request).to_slack()  # as both clients still show it
    assert click(stack, BOB, "Approve", request).status_code == 200
    wait_status(stack, request.id, Status.DONE)

    before = len(stack.standin.ephemerals(GRACE))
    assert click_as_shown(stack, GRACE, stale).status_code == 200
    told = ephemeral_after(stack, GRACE, before)
    assert f"Aanvraag `{request.id}` is al goedgekeurd door <@{BOB}>" in told, told

    before = len(stack.standin.ephemerals(BOB))
    assert click_as_shown(stack, BOB, stale).status_code == 200
    told = ephemeral_after(stack, BOB, before)
    assert "You already approved this request; it needs another manager." in told, told


def test_a_dutch_admins_audit_trail_opens_as_columns_in_dutch_excel(stack) -> None:
    stack.standin.directory.set_locale(DAVE, "nl-NL")
    request = file_request(stack, ALICE, JANE)
    assert click(stack, BOB, "Approve", request).status_code == 200
    wait_status(stack, request.id, Status.DONE)

    before = len(stack.standin.ephemerals(DAVE))
    assert stack.driver.command(DAVE, "audit").status_code == 200
    assert "Ik heb het auditlog naar je DM's gestuurd." in ephemeral_after(stack, DAVE, before)
    [shared] = stack.standin.wait_for(
        lambda: stack.standin.files(stack.standin.dm_channel(DAVE)), description="the audit file"
    )
    assert shared.title == "Auditlog van Community Bot"
    assert shared.content.startswith(BOM)
    rows = list(csv.reader(io.StringIO(shared.content.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    assert header[:4] == ["tijdstip", "aanvraag_id", "actie", "door"]
    filed = dict(zip(header, next(r for r in rows[1:] if r[2] == "filed"), strict=True))
    assert filed["aanvraag_id"] == request.id and filed["tegoed"] == "750,00"
