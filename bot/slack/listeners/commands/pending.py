"""/community pending: open requests and scheduled changes; managers get the buttons
(Approve and Reject; Change date and Cancel)."""

from __future__ import annotations

from bot.domain.roles import Role
from bot.slack.blocks.replies import pending_reply
from bot.slack.listeners.commands.invocation import Invocation


def list_pending(call: Invocation) -> None:
    store = call.services.store
    requests = store.get_many(store.pending_ids() + store.scheduled_ids())
    is_manager = Role.MANAGER in call.roles
    if not is_manager:
        requests = [r for r in requests if r.requester_id == call.user_id]
    call.respond(pending_reply(requests, call.services.environment, with_buttons=is_manager))
