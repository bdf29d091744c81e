"""App Home: rendered fresh each time it is opened (and after a click in it). Which
requests and imports carry buttons is the decision's (bot.domain.access), never this file's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot import i18n
from bot.domain.access import Action, Actor
from bot.domain.roles import Role
from bot.slack.actors import actor_of
from bot.slack.blocks.home import home_view
from bot.slack.blocks.imports import import_line
from bot.slack.blocks.kit import Block
from bot.slack.errors import reports_errors

if TYPE_CHECKING:
    from bot.slack.services import Services


@reports_errors
def handle_app_home_opened(event: dict[str, Any], client: WebClient, services: Services) -> None:
    if event.get("tab", "home") == "home":
        publish_home(client, services, event["user"])


def publish_home(client: WebClient, services: Services, user_id: str) -> None:
    """Publish `user_id`'s App Home, in their Slack language (cached), whoever's request
    is running."""
    with i18n.use(services.users.locale_of(user_id)):
        _publish_home(client, services, user_id)


def _publish_home(client: WebClient, services: Services, user_id: str) -> None:
    store, requests = services.store, services.requests
    actor = actor_of(services, user_id)
    roles = services.roles_anywhere(user_id, actor.roles)  # POLICY_FILE: any community's
    mine = store.get_many(store.ids_of_requester(user_id))
    waiting = [
        r
        for r in store.get_many(store.pending_ids())
        if requests.verdict(Action.APPROVE, r, actor).allowed
    ]
    scheduled = [
        r
        for r in store.get_many(store.scheduled_ids())
        if requests.verdict(Action.CANCEL, r, actor).allowed
        or requests.verdict(Action.CHANGE_DATE, r, actor).allowed
    ]
    recent = [r for r in store.get_many(store.recent_ids()) if not r.status.is_open][:10]
    if Role.ADMIN not in roles and Role.MANAGER not in roles:
        recent = [r for r in recent if r.requester_id == user_id]
    elif services.per_community:  # a manager sees their own communities' requests only
        deciders = {Role.ADMIN, Role.MANAGER}
        recent = [
            r
            for r in recent
            if r.requester_id == user_id
            or services.roles_in(user_id, r.community_id, roles) & deciders
        ]
    client.views_publish(
        user_id=user_id,
        view=home_view(
            roles,
            mine,
            waiting,
            recent,
            services.environment,
            scheduled=scheduled,
            imports=open_import_lines(services, actor),
        ),
    )


def open_import_lines(services: Services, actor: Actor) -> list[Block]:
    """Pending imports the actor filed or may decide, each with the buttons they may use."""
    if services.imports is None:
        return []
    service, now = services.imports.service, services.clock.now()
    lines: list[Block] = []
    for request in service.open_imports()[:10]:
        offered = service.offered(request, actor)
        if offered or request.requester_id == actor.user_id:
            lines += import_line(request, offered, now)
    return lines
