"""/community: answer in the ack when we can (help, refusals), else ack and go lazy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.domain.roles import Role
from bot.slack.blocks.replies import help_reply, refusal
from bot.slack.errors import reports_errors
from bot.slack.listeners.commands import (
    audit_trail,
    communities,
    credit,
    pending,
    request_forms,
)
from bot.slack.listeners.commands.invocation import Invocation
from bot.slack.listeners.imports.command import open_import

if TYPE_CHECKING:
    from bot.slack.services import Services


@dataclass(frozen=True)
class Subcommand:
    run: Callable[[Invocation], None]
    action: str  # for the refusal: "Only hr may <action>."
    allowed: frozenset[Role]


SUBCOMMANDS: dict[str, Subcommand] = {
    "add": Subcommand(request_forms.open_add_employee, "request onboarding", frozenset({Role.HR})),
    "remove": Subcommand(
        request_forms.open_remove_employee, "request offboarding", frozenset({Role.HR})
    ),
    "credit": Subcommand(
        credit.show_remaining_credit,
        "look up credit",
        frozenset({Role.SUPPORT, Role.HR, Role.MANAGER}),
    ),
    "pending": Subcommand(
        pending.list_pending, "see pending requests", frozenset({Role.MANAGER, Role.HR})
    ),
    "communities": Subcommand(communities.list_communities, "list communities", frozenset(Role)),
    "audit": Subcommand(
        audit_trail.send_audit_trail, "export the audit trail", frozenset({Role.ADMIN})
    ),
    "import": Subcommand(open_import, "import employees from a file", frozenset({Role.HR})),
}


def _parse(command: dict[str, Any]) -> tuple[str, str]:
    word, _, rest = (command.get("text") or "").strip().partition(" ")
    return word.lower(), rest.strip()


def ack_community_command(
    ack: Ack, command: dict[str, Any], context: BoltContext, services: Services
) -> None:
    """Checked on the server at the moment of the command; help and refusals need no more
    than a role look-up, so they are the ack itself (no second request to Slack)."""
    word, _ = _parse(command)
    roles = services.roles.roles_of(command["user_id"])
    subcommand = SUBCOMMANDS.get(word)
    if subcommand is None:
        unknown = "" if word in ("", "help") else word[:50]
        ack(help_reply(roles, services.environment, unknown=unknown))
    elif not roles & subcommand.allowed:
        ack(refusal(subcommand.action, set(subcommand.allowed)))
    else:
        context["roles"] = roles  # handed to the lazy part (Bolt copies the context)
        ack()


@reports_errors
def run_community_command(
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
    roles: frozenset[Role] | None,
) -> None:
    """The slow part, after the ack: only for subcommands the ack let through."""
    word, args = _parse(command)
    subcommand = SUBCOMMANDS.get(word)
    if subcommand is None or roles is None:
        return
    subcommand.run(
        Invocation(
            user_id=command["user_id"],
            args=args,
            roles=roles,
            trigger_id=command.get("trigger_id", ""),
            respond=respond,
            client=client,
            services=services,
        )
    )
