"""/community: acknowledge at once, then route to the subcommand."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.slack.blocks.replies import help_reply
from bot.slack.listeners.commands import (
    audit_trail,
    communities,
    credit,
    pending,
    request_forms,
)
from bot.slack.listeners.commands.invocation import Invocation

if TYPE_CHECKING:
    from bot.runtime.services import Services

SUBCOMMANDS: dict[str, Callable[[Invocation], None]] = {
    "add": request_forms.open_add_employee,
    "remove": request_forms.open_remove_employee,
    "credit": credit.show_remaining_credit,
    "pending": pending.list_pending,
    "communities": communities.list_communities,
    "audit": audit_trail.send_audit_trail,
}


def handle_community_command(ack: Ack, command: dict[str, Any], respond: Respond,
                             client: WebClient, services: Services) -> None:
    ack()  # everything else happens after the ack, well inside Slack's 3 seconds
    word, _, rest = (command.get("text") or "").strip().partition(" ")
    call = Invocation(user_id=command["user_id"], args=rest.strip(),
                      trigger_id=command.get("trigger_id", ""), respond=respond,
                      client=client, services=services)
    run = SUBCOMMANDS.get(word.lower())
    if run is None:
        unknown = "" if word.lower() in ("", "help") else word[:50]
        respond(help_reply(call.roles, services.environment, unknown=unknown))
        return
    run(call)
