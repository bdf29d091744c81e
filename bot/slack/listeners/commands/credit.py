"""/community credit <email> [community-id]: the remaining credit, privately.

Runs in the look-up lane (Services.lookups): it waits on Coolblue."""

from __future__ import annotations

from pydantic import EmailStr, TypeAdapter, ValidationError

from bot.communities.errors import CommunitiesError, NotFound
from bot.domain.mailbox import ascii_address
from bot.domain.roles import Role
from bot.i18n import N_, t
from bot.slack.blocks.replies import credit_reply, error_reply
from bot.slack.listeners.commands.invocation import Invocation
from bot.slack.text import escape

_EMAIL = TypeAdapter(EmailStr)
LOOKERS = (Role.SUPPORT, Role.HR, Role.MANAGER)
USAGE = N_("Usage: `/community credit jane.doe@example.com` (a valid e-mail address).")


def show_remaining_credit(call: Invocation) -> None:
    words = call.args.split()
    try:
        # Coolblue knows members by the ASCII address (an internationalised domain in
        # punycode), as the Add form files it.
        email = ascii_address(_EMAIL.validate_python(words[0] if words else "")).lower()
    except (ValidationError, ValueError):
        call.respond(error_reply(t(USAGE)))
        return
    api = call.services.api
    try:
        communities = (
            [api.ensure_community(words[1])]
            if len(words) > 1
            else list(api.list_communities().communities)
        )
        # With POLICY_FILE: only where the caller holds a role (support, hr or manager)
        communities = call.services.visible(call.user_id, communities, *LOOKERS)
        for community in communities:
            try:
                credit = api.get_remaining_credit(community.id, email)
            except NotFound:
                continue
            call.respond(credit_reply(credit, community, call.services.environment))
            return
    except CommunitiesError as exc:
        call.respond(error_reply(escape(exc.message) + _correlation(exc)))
        return
    call.respond(
        error_reply(
            t(
                "{email} is not a member of any community this integration manages.",
                email=escape(email),
            )
        )
    )


def _correlation(exc: CommunitiesError) -> str:
    if not exc.correlation_id:
        return ""
    return t(" (correlation ID `{id}`)", id=escape(exc.correlation_id))
