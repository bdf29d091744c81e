"""/community add and /community remove: open the modal for HR.

The communities offered are carried in the modal's private_metadata (which Slack hands
back unchanged, inside the signed submission), so the submission is checked against this
list in its ack without asking Coolblue again."""

from __future__ import annotations

import json
from typing import Any

from bot.communities import Community
from bot.communities.errors import CommunitiesError
from bot.domain.roles import Role
from bot.i18n import t
from bot.slack.blocks.modals import add_employee_modal, remove_employee_modal
from bot.slack.blocks.replies import error_reply
from bot.slack.listeners.commands.invocation import Invocation
from bot.slack.text import escape

METADATA_LIMIT = 3000  # Slack's limit on private_metadata


def open_add_employee(call: Invocation) -> None:
    communities = _communities(call, Role.HR)
    if communities is not None:
        view = add_employee_modal(
            communities,
            call.services.environment,
            email=_prefill(call.args),
            max_credit=max(
                (call.services.requests.policy_of(c.id).max_credit for c in communities),
                default=call.services.policy.max_credit,
            ),
            timezone=call.services.policy.schedule.timezone.key,
        )
        call.client.views_open(trigger_id=call.trigger_id, view=with_communities(view, communities))
        _warm_email(call)


def open_remove_employee(call: Invocation) -> None:
    communities = _communities(call, Role.HR)
    if communities is not None:
        view = remove_employee_modal(
            communities,
            call.services.environment,
            email=_prefill(call.args),
            timezone=call.services.policy.schedule.timezone.key,
        )
        call.client.views_open(trigger_id=call.trigger_id, view=with_communities(view, communities))
        _warm_email(call)


def _warm_email(call: Invocation) -> None:
    """The submission checks the filer is not the employee (bot.domain.access) from the
    e-mail cache only, in its ack: fill it now, after the modal is open."""
    call.services.refresher.submit(call.services.users.email_of, call.user_id)


def with_communities(view: dict[str, Any], communities: list[Community]) -> dict[str, Any]:
    """The view, remembering {id: name} of what it offers (ids alone if names do not fit)."""
    metadata = json.loads(view.get("private_metadata") or "{}")
    for offered in ({c.id: c.name for c in communities}, {c.id: c.id for c in communities}):
        text = json.dumps({**metadata, "communities": offered}, ensure_ascii=False)
        if len(text) <= METADATA_LIMIT:
            return {**view, "private_metadata": text}
    return view  # too many to carry: the submission asks the modal to be opened again


def offered_communities(view: dict[str, Any]) -> dict[str, str] | None:
    """{id: name} a submitted modal offered, or None for a modal that carries none."""
    try:
        offered = json.loads(view.get("private_metadata") or "{}").get("communities")
    except (ValueError, AttributeError):
        return None
    if not isinstance(offered, dict):
        return None
    return {str(k): str(v) for k, v in offered.items()}


def _communities(call: Invocation, *roles: Role) -> list[Community] | None:
    """The communities Coolblue lists that the caller holds one of `roles` in (with
    POLICY_FILE; every one without it)."""
    try:
        listed = list(call.services.api.list_communities().communities)
    except CommunitiesError as exc:
        call.respond(
            error_reply(
                t(
                    "Couldn't load the communities from Coolblue. {problem}",
                    problem=escape(exc.message),
                )
            )
        )
        return None
    shown = call.services.visible(call.user_id, listed, *roles)
    if not shown and call.services.per_community:
        call.respond(error_reply(t("You hold no role in any community this bot manages.")))
        return None
    return shown


def _prefill(args: str) -> str:
    # Only something that looks like one address; the modal validates it properly.
    word = args.split()[0] if args.split() else ""
    return word if "@" in word and len(word) <= 254 else ""
