"""Who clicked, with the facts bot.domain.access decides on: the user's roles and e-mail
address (UNKNOWN, "", when Slack would not say: the decision then refuses)."""

from __future__ import annotations

from concurrent.futures import TimeoutError
from typing import TYPE_CHECKING

from bot.domain.access import Actor
from bot.slack.users import UNKNOWN

if TYPE_CHECKING:
    from bot.slack.services import Services


def actor_of(services: Services, user_id: str) -> Actor:
    """After the ack: may ask Slack (users.info, usergroups.users.list), cached."""
    return Actor(user_id, services.users.email_of(user_id), services.roles.roles_of(user_id))


def quick_actor_of(services: Services, user_id: str) -> Actor:
    """In an ack: caches only. Raises MembershipUnknown when a user group's members are not
    cached; an uncached e-mail address is UNKNOWN (the caller fetches it after the ack)."""
    roles = services.quick_roles.roles_of(user_id)
    return Actor(user_id, services.users.cached_email_of(user_id), roles)


def actor_before_modal(services: Services, user_id: str, wait: float) -> Actor:
    """Before views.open (the trigger lasts 3 s): the e-mail look-up may take `wait`
    seconds; a slower Slack leaves it UNKNOWN while the look-up goes on, so the modal's
    submission, which reads the cache only, finds it."""
    looked_up = services.refresher.submit(services.users.email_of, user_id)
    try:
        email = looked_up.result(timeout=wait)
    except TimeoutError:
        email = UNKNOWN
    return Actor(user_id, email, services.roles.roles_of(user_id))
