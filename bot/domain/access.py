"""Who may do what: one decision, read from one table (PRODUCT.md section 9).

Every action on a request or an import (file, approve, reject, retry, cancel, change the
date, stop) is allowed or refused by `may(action, actor, target)`, and only by it: the
services ask it before any change, the Slack surfaces (buttons, App Home, the console, which
drives the same buttons) ask nothing themselves and word the verdict.

The table gives, per action, the roles that allow it and what each relation of the actor to
the request decides. The relations are read left to right (the order of `Relation`); the
first one the actor holds whose cell is not "by role" decides; when none does, the roles do.
So "the subject may not" comes before "the requester may", and an actor with no relation is
decided by their roles alone.

A missing fact refuses: without the actor's e-mail address the subject relation cannot be
ruled out, so every action whose subject cell refuses is refused.

Issue 18: the `roles` an Actor carries are the actor's roles for the target's community
(bot.domain.community_roles), and a delegate carries the absent approvers they stand in for
(`for_ids`): the stand-in relation refuses a delegate whose absent approver could not decide
(they filed it, changed it last or already approved it).

`python -m bot.domain.access` prints the table as Markdown (the README's "Who may do what").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.mailbox import same_mailbox
from bot.domain.roles import Role


class Action(StrEnum):
    FILE = "file"
    APPROVE = "approve"
    REJECT = "reject"
    RETRY = "retry"
    CANCEL = "cancel"
    CHANGE_DATE = "change_date"
    STOP = "stop"


class Relation(StrEnum):
    """The actor's relation to a request or import, in the order the table reads them."""

    SUBJECT = "subject"  # the employee it is about; anyone an import's file names
    REQUESTER = "requester"  # filed it
    LAST_CHANGER = "last_changer"  # changed it last (a date change, a stop)
    PRIOR_APPROVER = "prior_approver"  # already approved it
    # decides for an absent approver (/community away) who filed it, changed it last or
    # already approved it: what the absent approver could not decide, their delegate cannot
    STAND_IN = "stand_in"


class Permit(StrEnum):
    ALLOW = "allowed"  # allowed, whatever the roles
    REFUSE = "refused"  # refused, whatever the roles
    BY_ROLE = (
        "by role"  # this relation decides nothing: the next one, or the roles, do  # i18n: docs
    )


class Refusal(StrEnum):
    """Why a click or command changed nothing; the Slack layer words each one."""

    NONE = ""
    MISSING = "missing"  # no such request
    CONFLICT = "conflict"  # already decided, or not in a state this action applies to
    ROLE = "role"  # the actor holds none of the roles the action needs
    OWN = "own"  # the requester may not
    EMPLOYEE = "employee"  # the subject may not
    CHANGER = "changer"  # whoever changed it last may not
    EMAIL_UNKNOWN = "email_unknown"  # the actor's e-mail is unknown: cannot rule out EMPLOYEE
    DUPLICATE = "duplicate"  # this approver already approved
    STAND_IN = "stand_in"  # a delegate, for an absent approver who may not decide it
    NOT_A_MEMBER = "not_a_member"  # an offboarding of an address that is no member (a fact)


REFUSED_AS = {
    Relation.SUBJECT: Refusal.EMPLOYEE,
    Relation.REQUESTER: Refusal.OWN,
    Relation.LAST_CHANGER: Refusal.CHANGER,
    Relation.PRIOR_APPROVER: Refusal.DUPLICATE,
    Relation.STAND_IN: Refusal.STAND_IN,
}


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    relations: Mapping[Relation, Permit]


def _rule(roles: set[Role], **cells: Permit) -> Rule:
    relations = {relation: cells.pop(relation.value, Permit.BY_ROLE) for relation in Relation}
    assert not cells, f"unknown relations {sorted(cells)}"
    return Rule(frozenset(roles), relations)


ALLOW, REFUSE = Permit.ALLOW, Permit.REFUSE
_DECIDERS = {"subject": REFUSE, "requester": REFUSE, "last_changer": REFUSE, "stand_in": REFUSE}

# The table. A new Action without its row fails tests/unit/test_access.py.
TABLE: dict[Action, Rule] = {
    Action.FILE: _rule({Role.HR}, subject=REFUSE),
    Action.APPROVE: _rule({Role.MANAGER}, **_DECIDERS, prior_approver=REFUSE),
    Action.REJECT: _rule({Role.MANAGER}, **_DECIDERS),
    Action.RETRY: _rule({Role.MANAGER}, **_DECIDERS),
    Action.CANCEL: _rule(
        {Role.MANAGER}, subject=REFUSE, requester=ALLOW, last_changer=REFUSE, stand_in=REFUSE
    ),
    Action.CHANGE_DATE: _rule(
        {Role.MANAGER}, subject=REFUSE, requester=ALLOW, last_changer=REFUSE, stand_in=REFUSE
    ),
    Action.STOP: _rule({Role.MANAGER}, **_DECIDERS),
}


@dataclass(frozen=True)
class Actor:
    """Who acts, with the facts the decision needs. `email` is "" when Slack did not say;
    `roles` are the actor's roles for the target's community; `for_ids` the absent
    approvers they decide for as a delegate (empty when they decide as themselves)."""

    user_id: str
    email: str
    roles: frozenset[Role]
    for_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """What the actor acts on, as the decision sees it: a request, an import, or a row
    about to be filed. `names(address)` says whether it is about that mailbox."""

    requester_id: str
    names: Callable[[str], bool]
    last_changer_id: str = ""
    approver_ids: tuple[str, ...] = field(default=())


def about(email: str) -> Callable[[str], bool]:
    """`Target.names` for a request about one employee."""
    return lambda address: same_mailbox(address, email)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: Refusal = Refusal.NONE
    action: Action | None = None

    @property
    def needs(self) -> frozenset[Role]:
        """The roles that allow the action (for "Only managers may …")."""
        return TABLE[self.action].roles if self.action is not None else frozenset()


def relations_of(actor: Actor, target: Target) -> set[Relation]:
    """The actor's relations to the target. The subject relation needs the actor's e-mail
    address; without it, `may` refuses before it reads this."""
    held: set[Relation] = set()
    if actor.email.strip() and target.names(actor.email):
        held.add(Relation.SUBJECT)
    if actor.user_id == target.requester_id:
        held.add(Relation.REQUESTER)
    if target.last_changer_id and actor.user_id == target.last_changer_id:
        held.add(Relation.LAST_CHANGER)
    if actor.user_id in target.approver_ids:
        held.add(Relation.PRIOR_APPROVER)
    for absent_id in actor.for_ids:
        if absent_id in {target.requester_id, target.last_changer_id, *target.approver_ids}:
            held.add(Relation.STAND_IN)
    return held


def may(action: Action, actor: Actor, target: Target) -> Verdict:
    """Allowed, or refused with the reason, per TABLE."""
    rule = TABLE[action]
    if not actor.user_id:
        return Verdict(False, Refusal.ROLE, action)
    if not actor.email.strip() and rule.relations[Relation.SUBJECT] is not Permit.BY_ROLE:
        return Verdict(False, Refusal.EMAIL_UNKNOWN, action)  # a missing fact refuses
    held = relations_of(actor, target)
    for relation in Relation:
        cell = rule.relations[relation]
        if relation not in held or cell is Permit.BY_ROLE:
            continue
        if cell is Permit.ALLOW:
            return Verdict(True, action=action)
        return Verdict(False, REFUSED_AS[relation], action)
    if actor.roles & rule.roles:
        return Verdict(True, action=action)
    return Verdict(False, Refusal.ROLE, action)


# Rendering -------------------------------------------------------------------------------

_ACTION_WORDS = {
    Action.FILE: "file",
    Action.APPROVE: "approve",
    Action.REJECT: "reject",
    Action.RETRY: "retry",
    Action.CANCEL: "cancel",
    Action.CHANGE_DATE: "change date",  # i18n: docs
    Action.STOP: "stop (import)",
}
_RELATION_WORDS = {
    Relation.SUBJECT: "subject",
    Relation.REQUESTER: "requester",
    Relation.LAST_CHANGER: "last changer",  # i18n: docs
    Relation.PRIOR_APPROVER: "prior approver",  # i18n: docs
    Relation.STAND_IN: "delegate of one who may not",  # i18n: docs
}
_CELL_WORDS = {Permit.ALLOW: "yes", Permit.REFUSE: "no", Permit.BY_ROLE: "by role"}  # i18n: docs


def render_table() -> str:
    """TABLE as Markdown, with the reading rule under it."""
    head = ["action", "roles", *(_RELATION_WORDS[r] for r in Relation)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for action, rule in TABLE.items():
        roles = ", ".join(f"`{role}`" for role in sorted(rule.roles)) + " (or `admin`)"
        cells = [_CELL_WORDS[rule.relations[r]] for r in Relation]
        lines.append("| " + " | ".join([_ACTION_WORDS[action], roles, *cells]) + " |")
    lines += [
        "",
        "Read a row left to right: the first relation the person holds that says yes or no "
        "decides; when none does, their roles do. The subject is the employee a request is "
        "about, or anyone an import's file names (matched as a mailbox); without the "
        "person's e-mail address that cannot be ruled out, so a row whose subject says no "
        "refuses. The last changer is whoever last changed the date or stopped it. A "
        "requester's cancel applies while the request is not yet carried out; their date "
        "change sends it back for approval when it gives credit sooner or keeps it longer. "
        "A delegate (`/community away`) holds the absent approver's manager role in their "
        'communities; "delegate of one who may not" is a delegate whose absent approver '
        "filed the request, changed it last or already approved it.",  # i18n: docs
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_table(), end="")
