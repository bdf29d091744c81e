"""App Home: rendered fresh each time it is opened (and after a click in it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.domain.roles import Role
from bot.slack.blocks.home import home_view
from bot.slack.errors import reports_errors

if TYPE_CHECKING:
    from bot.slack.services import Services


@reports_errors
def handle_app_home_opened(event: dict[str, Any], client: WebClient, services: Services) -> None:
    if event.get("tab", "home") == "home":
        publish_home(client, services, event["user"])


def publish_home(client: WebClient, services: Services, user_id: str) -> None:
    store = services.store
    roles = services.roles.roles_of(user_id)
    mine = store.get_many(store.ids_of_requester(user_id))
    waiting = []
    if Role.MANAGER in roles:
        waiting = [
            r
            for r in store.get_many(store.pending_ids())
            if r.requester_id != user_id and user_id not in r.approver_ids
        ]
    scheduled = store.get_many(store.scheduled_ids())
    if Role.MANAGER not in roles:
        scheduled = [r for r in scheduled if r.requester_id == user_id]
    recent = [r for r in store.get_many(store.recent_ids()) if not r.status.is_open][:10]
    if Role.ADMIN not in roles and Role.MANAGER not in roles:
        recent = [r for r in recent if r.requester_id == user_id]
    client.views_publish(
        user_id=user_id,
        view=home_view(roles, mine, waiting, recent, services.environment, scheduled=scheduled),
    )
