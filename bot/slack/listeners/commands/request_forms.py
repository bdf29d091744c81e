"""/community add and /community remove: open the modal for HR."""

from __future__ import annotations

from bot.communities import Community
from bot.communities.errors import CommunitiesError
from bot.slack.blocks.modals import add_employee_modal, remove_employee_modal
from bot.slack.blocks.replies import error_reply
from bot.slack.listeners.commands.invocation import Invocation


def open_add_employee(call: Invocation) -> None:
    communities = _communities(call)
    if communities is not None:
        view = add_employee_modal(
            communities,
            call.services.environment,
            email=_prefill(call.args),
            max_credit=call.services.policy.max_credit,
        )
        call.client.views_open(trigger_id=call.trigger_id, view=view)


def open_remove_employee(call: Invocation) -> None:
    communities = _communities(call)
    if communities is not None:
        view = remove_employee_modal(
            communities, call.services.environment, email=_prefill(call.args)
        )
        call.client.views_open(trigger_id=call.trigger_id, view=view)


def _communities(call: Invocation) -> list[Community] | None:
    try:
        return list(call.services.api.list_communities().communities)
    except CommunitiesError as exc:
        call.respond(error_reply(f"Couldn't load the communities from Coolblue. {exc.message}"))
        return None


def _prefill(args: str) -> str:
    # Only something that looks like one address; the modal validates it properly.
    word = args.split()[0] if args.split() else ""
    return word if "@" in word and len(word) <= 254 else ""
