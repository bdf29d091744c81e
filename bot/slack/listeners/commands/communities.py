"""/community communities: what this integration may manage."""

from __future__ import annotations

from bot.communities.errors import CommunitiesError
from bot.slack.blocks.replies import communities_reply, error_reply
from bot.slack.listeners.commands.invocation import Invocation
from bot.slack.text import escape


def list_communities(call: Invocation) -> None:
    try:
        listed = list(call.services.api.list_communities().communities)
    except CommunitiesError as exc:
        call.respond(error_reply(escape(exc.message)))
        return
    call.respond(communities_reply(listed, call.services.environment))
