"""/community: answer in the ack when we can (help, refusals), else ack and go lazy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.domain.access import TABLE, Action
from bot.domain.roles import Role
from bot.i18n import N_, t
from bot.slack.blocks.replies import error_reply, help_reply, refusal
from bot.slack.errors import handle_error, reports_errors
from bot.slack.listeners.commands import (
    audit_trail,
    away,
    communities,
    credit,
    pending,
    policy,
    request_forms,
)
from bot.slack.listeners.commands.invocation import Invocation
from bot.slack.listeners.imports.command import open_import
from bot.slack.users import MembershipUnknown

if TYPE_CHECKING:
    from bot.slack.services import Services


@dataclass(frozen=True)
class Subcommand:
    run: Callable[[Invocation], None]
    action: str  # for the refusal: "Only hr may <action>."
    allowed: frozenset[Role]
    lookup: bool = False  # waits on Coolblue: runs in the look-up lane (Services.lookups)


FILERS = TABLE[Action.FILE].roles  # who may file (bot.domain.access), asked before the modal

SUBCOMMANDS: dict[str, Subcommand] = {
    "add": Subcommand(request_forms.open_add_employee, N_("request onboarding"), FILERS),
    "remove": Subcommand(request_forms.open_remove_employee, N_("request offboarding"), FILERS),
    "credit": Subcommand(
        credit.show_remaining_credit,
        N_("look up credit"),
        frozenset({Role.SUPPORT, Role.HR, Role.MANAGER}),
        lookup=True,
    ),
    "pending": Subcommand(
        pending.list_pending, N_("see pending requests"), frozenset({Role.MANAGER, Role.HR})
    ),
    "communities": Subcommand(
        communities.list_communities, N_("list communities"), frozenset(Role), lookup=True
    ),
    "audit": Subcommand(
        audit_trail.send_audit_trail, N_("export the audit trail"), frozenset({Role.ADMIN})
    ),
    "import": Subcommand(open_import, N_("import employees from a file"), FILERS),
    "away": Subcommand(
        away.away, N_("name someone to decide while away"), frozenset({Role.MANAGER})
    ),
    "policy": Subcommand(policy.show_policy, N_("see the policy"), frozenset({Role.ADMIN})),
}

BUSY = N_(
    "Too many look-ups are waiting for Coolblue right now, so I did not start this one. "
    "Try again in a minute."
)


def _parse(command: dict[str, Any]) -> tuple[str, str]:
    word, _, rest = (command.get("text") or "").strip().partition(" ")
    return word.lower(), rest.strip()


def _answer(word: str, roles: frozenset[Role], environment: str) -> dict[str, Any] | None:
    """Help or a refusal, when the command's word and the roles settle it; else None."""
    subcommand = SUBCOMMANDS.get(word)
    if subcommand is None:
        unknown = "" if word in ("", "help") else word[:50]
        return help_reply(roles, environment, unknown=unknown)
    if not roles & subcommand.allowed:
        return refusal(t(subcommand.action), set(subcommand.allowed))
    return None


def ack_community_command(
    ack: Ack, command: dict[str, Any], context: BoltContext, services: Services
) -> None:
    """Checked on the server at the moment of the command. Roles come from the cache
    (never a Slack call here); help and refusals are the ack itself. When a user group's
    members are not cached yet, the ack is empty and the lazy part checks and answers."""
    word, _ = _parse(command)
    context["roles"], context["check_roles"] = None, False  # what the lazy part reads
    try:
        roles = services.roles_anywhere(
            command["user_id"], services.quick_roles.roles_of(command["user_id"])
        )
    except MembershipUnknown:
        context["check_roles"] = True  # decided after the ack, with a Slack call if need be
        ack()
        return
    answer = _answer(word, roles, services.environment)
    if answer is not None:
        ack(answer)
        return
    context["roles"] = roles  # handed to the lazy part (Bolt copies the context)
    ack()


@reports_errors
def run_community_command(
    body: dict[str, Any],
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
    roles: frozenset[Role] | None,
    check_roles: bool | None,
) -> None:
    """The slow part, after the ack: for subcommands the ack let through, and for commands
    whose roles the ack could not tell from the cache."""
    word, args = _parse(command)
    if check_roles:
        roles = services.roles_anywhere(
            command["user_id"], services.roles.roles_of(command["user_id"])
        )
        answer = _answer(word, roles, services.environment)
        if answer is not None:
            respond(answer)
            return
    subcommand = SUBCOMMANDS.get(word)
    if subcommand is None or roles is None:  # answered in the ack
        return
    call = Invocation(
        user_id=command["user_id"],
        args=args,
        roles=roles,
        trigger_id=command.get("trigger_id", ""),
        respond=respond,
        client=client,
        services=services,
    )
    if not subcommand.lookup:
        subcommand.run(call)
    elif not services.lookups.submit(lambda: _reporting(subcommand.run, call, body)):
        respond(error_reply(t(BUSY)))


def _reporting(run: Callable[[Invocation], None], call: Invocation, body: dict[str, Any]) -> None:
    try:
        run(call)
    except Exception as error:
        handle_error(error, body, call.respond)
