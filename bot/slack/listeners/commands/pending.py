"""/community pending: open requests, scheduled changes and pending imports. Each carries
the buttons the caller may use, as bot.domain.access decides (Approve and Reject; Change
date and Cancel; an import's Cancel for its requester)."""

from __future__ import annotations

from bot.domain.access import Action
from bot.domain.requests import Status
from bot.slack.actors import actor_of
from bot.slack.blocks.replies import pending_reply
from bot.slack.listeners.commands.invocation import Invocation
from bot.slack.listeners.events.app_home_opened import open_import_lines

_BUTTONS_FOR = {Status.PENDING: Action.APPROVE, Status.SCHEDULED: Action.CHANGE_DATE}


def list_pending(call: Invocation) -> None:
    store, requests = call.services.store, call.services.requests
    actor = actor_of(call.services, call.user_id)
    lines = []
    for request in store.get_many(store.pending_ids() + store.scheduled_ids()):
        buttons = requests.verdict(_BUTTONS_FOR[request.status], request, actor).allowed
        if buttons or request.requester_id == call.user_id:
            lines.append((request, buttons))
    imports = open_import_lines(call.services, actor)
    call.respond(pending_reply(lines, call.services.environment, imports=imports))
