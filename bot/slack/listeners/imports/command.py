"""/community import: open the Import modal for HR. The communities offered travel in the
modal's private_metadata, so the submission checks the choice without asking Coolblue."""

from __future__ import annotations

import json
from typing import Any

from bot.communities import Community
from bot.communities.errors import CommunitiesError
from bot.domain.roles import Role
from bot.i18n import N_, t
from bot.slack.blocks.imports import import_modal
from bot.slack.blocks.replies import error_reply
from bot.slack.listeners.commands.invocation import Invocation
from bot.slack.text import escape

METADATA_LIMIT = 3000  # Slack's limit on private_metadata
UNAVAILABLE = N_("Imports are not set up in this process.")


def open_import(call: Invocation) -> None:
    imports = call.services.imports
    if imports is None:
        call.respond(error_reply(t(UNAVAILABLE)))
        return
    try:
        communities = list(call.services.api.list_communities().communities)
    except CommunitiesError as exc:
        call.respond(
            error_reply(
                t(
                    "Couldn't load the communities from Coolblue. {problem}",
                    problem=escape(exc.message),
                )
            )
        )
        return
    communities = call.services.visible(call.user_id, communities, Role.HR)  # POLICY_FILE
    view = import_modal(
        communities,
        call.services.environment,
        max_rows=imports.max_rows,
        max_bytes=imports.max_bytes,
    )
    call.client.views_open(trigger_id=call.trigger_id, view=carrying(view, communities))
    # The submission checks that no row names the filer (bot.domain.access) from this cache.
    call.services.refresher.submit(call.services.users.email_of, call.user_id)


def carrying(view: dict[str, Any], communities: list[Community]) -> dict[str, Any]:
    """The view, remembering {id: name} of the communities it offers."""
    metadata = json.loads(view.get("private_metadata") or "{}")
    for offered in ({c.id: c.name for c in communities}, {c.id: c.id for c in communities}):
        text = json.dumps({**metadata, "communities": offered}, ensure_ascii=False)
        if len(text) <= METADATA_LIMIT:
            return {**view, "private_metadata": text}
    return view


def offered(view: dict[str, Any]) -> dict[str, str] | None:
    try:
        found = json.loads(view.get("private_metadata") or "{}").get("communities")
    except (ValueError, AttributeError):
        return None
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else None
