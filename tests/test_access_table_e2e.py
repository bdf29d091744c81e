"""The table of who may do what (bot.domain.access.TABLE), tested from the table itself:
every action x every relation x every surface (the button on the approval message, a button
in App Home, the console's `click`), each a signed request to the bot over real HTTP with the
Slack stand-in, the sandbox and a real Redis. The expectation is read from the table's cells,
so a changed cell changes what is asserted; an action added without its row (or without a
way to reach it here) fails.

Dave is an admin (every role), so when he is refused it is his relation that refuses; Frank
has no role and no relation. App Home is tested as a stale view: one published with the
button (as a view rendered before the request changed would show it), since a fresh one
shows only what the decision allows."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import redis
from slack_sdk import WebClient

from bot.console.form import ScriptAnswers
from bot.console.mask import Masker
from bot.console.session import ConsoleError, ConsoleSession, Surface
from bot.domain import audit
from bot.domain.access import TABLE, Action, Permit, Relation
from bot.domain.bulk import ImportRequest, ImportStatus, RowToFile, import_entry
from bot.domain.mailbox import mailbox
from bot.domain.requests import Approval, MemberRequest, Operation, Status
from bot.local.stack import APPROVALS_CHANNEL, LocalStack
from bot.slack.blocks.imports import STOP_IMPORT
from bot.slack.blocks.kit import button
from bot.slack.blocks.requests import APPROVE, CANCEL, CHANGE_DATE, REJECT, RETRY
from bot.storage import RedisServer
from tests.conftest import ALICE, COMMUNITY, DAVE, ERIN, FRANK, MANAGERS_GROUP, stack_settings, team
from tests.flows import JANE, ephemeral_after, eventually, open_modal

DAVE_EMAIL, FRANK_EMAIL = "dave@acme.nl", "frank@acme.nl"
NO_ROLE = "no role"  # Frank: no role and no relation
NONE = "no relation"  # Dave: every role, no relation
SURFACES = ("button", "home", "console")


# How each action is reached: the status its target must be in, the button, and what an
# allowed click leaves behind (an audit entry by the actor, or a modal opened for them).
@dataclass(frozen=True)
class Reach:
    label: str
    action_id: str
    status: Status | ImportStatus
    effect: str  # audit action, or "modal"


REACH: dict[Action, Reach] = {
    Action.APPROVE: Reach("Approve", APPROVE, Status.PENDING, "approved"),
    Action.REJECT: Reach("Reject", REJECT, Status.PENDING, "modal"),
    Action.RETRY: Reach("Retry", RETRY, Status.FAILED, "retried"),
    Action.CANCEL: Reach("Cancel", CANCEL, Status.SCHEDULED, "cancelled"),
    Action.CHANGE_DATE: Reach("Change date", CHANGE_DATE, Status.SCHEDULED, "modal"),
    Action.STOP: Reach("Stop", STOP_IMPORT, ImportStatus.APPROVED, "stopped"),
    Action.FILE: Reach("", "", Status.PENDING, "filed"),  # the Add modal, not a button
}


def expected(action: Action, relation: str) -> bool:
    """What TABLE says, read from its cells (not through bot.domain.access.may)."""
    rule = TABLE[action]
    if relation == NO_ROLE:
        return False
    cell = Permit.BY_ROLE if relation == NONE else rule.relations[Relation(relation)]
    return cell is Permit.ALLOW or cell is Permit.BY_ROLE  # Dave holds every role


def test_every_action_can_be_reached_here() -> None:
    assert set(REACH) == set(Action), "a new action needs its row here (how to reach it)"


@pytest.fixture(scope="module")
def table_stack(redis_server: RedisServer) -> Iterator[LocalStack]:
    """One stack for the whole module; each case makes its own request."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    stack = LocalStack(
        stack_settings(redis_server.url),
        team(),
        {MANAGERS_GROUP: [ERIN]},
        workers=1,
        mode="http",
    ).start()
    yield stack
    stack.stop()


_numbers = itertools.count()
_WORKING = {Status.APPROVED, Status.EXECUTING}  # the worker's until it is carried out


def _request(stack: LocalStack, reach: Reach, relation: str) -> MemberRequest:
    """A stored request in the state the action needs, with the relation to Dave."""
    now = time.time()
    number = next(_numbers)
    email = DAVE_EMAIL if relation == Relation.SUBJECT else f"person{number}@example.com"
    status = Status(reach.status)
    request = MemberRequest(
        id=f"RT{number:06d}",
        operation=Operation.ADD,
        community_id=COMMUNITY,
        community_name="Acme Employees",
        email=email,
        requester_id=DAVE if relation == Relation.REQUESTER else ALICE,
        created_at=now,
        updated_at=now,
        expires_at=now + 3600,
        approvals_required=2 if relation == Relation.PRIOR_APPROVER else 1,
        environment="SANDBOX",
        first_name="Pat",
        last_name="Doe",
        credit=Decimal("10.00"),
        status=status,
        due_at=now + 30 * 86400 if status is Status.SCHEDULED else 0.0,
        changed_by=DAVE if relation == Relation.LAST_CHANGER else "",
        approvals=[Approval(DAVE, now)] if relation == Relation.PRIOR_APPROVER else [],
    )
    held = stack.services.store.create(request, audit.entry(request, "filed", ALICE))
    assert held is None, f"{email} is open in {held}"
    stack.services.requests.publish_filed(request)
    stored = stack.services.store.get(request.id)
    assert stored is not None and stored.message_ts
    return stored


def _import(stack: LocalStack, relation: str) -> ImportRequest:
    """A stored import being carried out, related to Dave. Coolblue answers slowly while
    it runs (the caller resets the latency), so its row is still in flight at the click."""
    imports = stack.services.imports
    assert imports is not None
    now = time.time()
    number = next(_numbers)
    request = ImportRequest(
        id=f"IT{number:06d}",
        operation=Operation.ADD,
        community_id=COMMUNITY,
        community_name="Acme Employees",
        requester_id=DAVE if relation == Relation.REQUESTER else ALICE,
        created_at=now,
        expires_at=now + 3600,
        approvals_required=1,
        environment="SANDBOX",
        status=ImportStatus.APPROVED,
        approvals=[Approval(DAVE if relation == Relation.PRIOR_APPROVER else ALICE, now)],
    )
    row = MemberRequest(
        id=f"{request.id}-2",
        operation=Operation.ADD,
        community_id=COMMUNITY,
        community_name="Acme Employees",
        email=f"row{number}@example.com",
        requester_id=request.requester_id,
        created_at=now,
        expires_at=now + 3600,
        approvals_required=1,
        environment="SANDBOX",
        credit=Decimal("10.00"),
    )
    people = {mailbox(row.email)} | (
        {mailbox(DAVE_EMAIL)} if relation == Relation.SUBJECT else set()
    )
    filed = imports.store.file(
        request,
        [RowToFile(2, row, mailbox(row.email), 1000)],
        people,
        [],
        [import_entry(request, "filed", request.requester_id)],
        enqueue=True,
    )
    assert filed.accepted == 1
    if relation == Relation.LAST_CHANGER:
        imports.store.set_fields(request.id, stopped_by=DAVE)
    stored = imports.store.get(request.id)
    assert stored is not None
    imports.service.publish_filed(stored)
    stored = imports.store.get(request.id)
    assert stored is not None and stored.message_ts
    return stored


def _effects(stack: LocalStack, actor: str, target_id: str, effect: str) -> int:
    if effect == "modal":
        return sum(1 for c in stack.standin.calls_to("views.open") if c.ok)
    entries = stack.services.audit_log.entries(target_id)
    return sum(1 for e in entries if e["action"] == effect and e["actor"] == actor)


def _outcome(stack: LocalStack, actor: str, target_id: str, effect: str, before: tuple) -> bool:
    """True once the click took effect, False once the actor was told no."""
    effects, told = before
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _effects(stack, actor, target_id, effect) > effects:
            return True
        if len(stack.standin.ephemerals(actor)) > told:
            shown = stack.standin.ephemerals(actor)[-1]["text"]
            assert "Something went wrong" not in shown, shown
            return False
        time.sleep(0.02)
    raise AssertionError(f"no effect and no refusal for {actor} on {target_id}")


def _click(stack: LocalStack, surface: str, actor: str, reach: Reach, target) -> None:
    if surface == "button":
        stack.driver.click(actor, reach.label, APPROVALS_CHANNEL, target.message_ts)
    elif surface == "home":
        view = {
            "type": "home",
            "blocks": [
                {
                    "type": "actions",
                    "block_id": f"list:{target.id}",
                    "elements": [button(reach.label, reach.action_id, target.id)],
                }
            ],
        }
        slack = WebClient(
            token=stack.settings.slack_bot_token.get_secret_value(),
            base_url=stack.settings.slack_api_url,
        )
        slack.views_publish(user_id=actor, view=view)
        home = stack.standin.home(actor)
        assert home is not None
        stack.driver.click_in_view(actor, reach.label, view_id=home["id"], value=target.id)
    else:
        session = ConsoleSession(stack, lambda _line: None, Masker(enabled=False))
        session.act_as(actor)
        session.shown.append(Surface("message", target.message_ts, APPROVALS_CHANNEL))
        try:
            session.execute(f"click {reach.label} {target.id}", ScriptAnswers([], print))
        except ConsoleError as exc:  # a modal the script gives no answers for: it opened
            assert "answer" in str(exc), exc


# The stand-in relation needs a delegation (/community away): tests/test_policy_e2e.py and
# tests/unit/test_access.py cover its column.
CASES = [
    (action, relation, surface)
    for action in Action
    if action is not Action.FILE
    for relation in (NONE, NO_ROLE, *(r.value for r in Relation if r is not Relation.STAND_IN))
    for surface in SURFACES
]


@pytest.mark.parametrize(("action", "relation", "surface"), CASES)
def test_the_table_decides_every_click(table_stack, action, relation, surface) -> None:
    stack, reach = table_stack, REACH[action]
    stack.sandbox.faults.latency_ms = 1500 if action is Action.STOP else 0
    actor = FRANK if relation == NO_ROLE else DAVE
    target = _import(stack, relation) if action is Action.STOP else _request(stack, reach, relation)
    before = (_effects(stack, actor, target.id, reach.effect), len(stack.standin.ephemerals(actor)))
    _click(stack, surface, actor, reach, target)
    allowed = _outcome(stack, actor, target.id, reach.effect, before)
    assert allowed is expected(action, relation), (
        f"{action} by {relation} via {surface}: {'allowed' if allowed else 'refused'}, "
        f"the table says {'allowed' if expected(action, relation) else 'refused'}"
    )
    _close(stack, target)


def _close(stack: LocalStack, target) -> None:
    """Free the address for the next case (the subject's, Dave's, is used again)."""
    if isinstance(target, MemberRequest):
        # An approval (or retry) the table allowed is the worker's first: cancelled under
        # it, the request's message would say "approved" for good, and every later console
        # click in this module would wait out the console's settle limit for that worker.
        store = stack.services.store
        eventually(
            lambda: getattr(store.get(target.id), "status", None) not in _WORKING,
            15,
            f"the worker done with {target.id}",
        )
        store.transition(
            target.id,
            allowed=set(Status) - {Status.CANCELLED},
            to=Status.CANCELLED,
            audit_entry=audit.entry(target, "cancelled", "system"),
        )
        return
    imports = stack.services.imports
    assert imports is not None
    imports.store.stop(target.id, "system", import_entry(target, "stopped", "system"))
    imports.notifier.refresh(target.id)  # its message no longer says "being carried out"


@pytest.mark.parametrize("relation", [NONE, NO_ROLE, Relation.SUBJECT.value])
@pytest.mark.parametrize("surface", ["modal", "console"])
def test_the_table_decides_who_may_file(table_stack, relation, surface) -> None:
    stack = table_stack
    actor = FRANK if relation == NO_ROLE else DAVE
    email = DAVE_EMAIL if relation == Relation.SUBJECT else f"filed{next(_numbers)}@example.com"
    values = {**JANE, "email": email}
    known = set(stack.services.store.recent_ids(1000))
    if relation == NO_ROLE and surface == "modal":  # refused at the command: no modal
        seen = len(stack.standin.ephemerals(actor))
        stack.driver.command(actor, "add")
        assert "Only HR" in ephemeral_after(stack, actor, seen)
    elif surface == "modal":
        view = open_modal(stack, actor, "add")
        stack.driver.fill_and_submit(actor, view["id"], values)
    else:
        session = ConsoleSession(stack, lambda _line: None, Masker(enabled=False))
        session.act_as(actor)
        answers = [f"  first name: {JANE['first_name']}", f"  last name: {JANE['last_name']}",
                   f"  e-mail: {email}", f"  credit: {JANE['credit']}"]  # fmt: skip
        # Refused: the modal asks again, and the script has no other answer.
        with contextlib.suppress(ConsoleError):
            session.execute("/community add", ScriptAnswers(answers, print))
    filed = [
        r
        for r in stack.services.store.get_many(
            list(set(stack.services.store.recent_ids(1000)) - known)
        )
        if r.email == email
    ]
    assert bool(filed) is expected(Action.FILE, relation), (relation, surface)
    for request in filed:
        _close(stack, request)
