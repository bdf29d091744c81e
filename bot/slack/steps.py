"""Workflow Builder steps, the Slack side: completing with the bot token, and the look-ups
the domain's StepService asks for (who may file, which communities).

Steps complete with the bot token (`xoxb-…`), never the execution's own token
(`bot_access_token` in the event, which Bolt's `complete`/`fail` use): that token expires
15 minutes after it is issued, and a request is final hours or days later, in whichever
process decides or carries it out (docs/workflow-builder.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.communities import CommunitiesClient
from bot.domain.access import Actor
from bot.domain.community_roles import CommunityRoles
from bot.domain.roles import RoleDirectory
from bot.domain.steps import ActorOf
from bot.slack.users import MembershipUnknown, QuickRoles, UserDirectory

log = logging.getLogger("bot.slack")


class SlackStepCompleter:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def complete(self, execution_id: str, outputs: dict[str, Any]) -> str:
        return self._call(
            lambda: self.client.functions_completeSuccess(
                function_execution_id=execution_id, outputs=outputs
            )
        )

    def fail(self, execution_id: str, error: str) -> str:
        return self._call(
            lambda: self.client.functions_completeError(
                function_execution_id=execution_id, error=error
            )
        )

    @staticmethod
    def _call(call: Callable[[], Any]) -> str:
        try:
            call()
        except SlackApiError as exc:
            return str(exc.response.get("error") or "unknown_error")
        return ""


def step_actor(
    quick: QuickRoles,
    roles: RoleDirectory,
    users: UserDirectory,
    community: CommunityRoles | None = None,
) -> ActorOf:
    """The person a step files for, with the facts the decision needs (their roles from
    the same grants and group cache as the modals; their e-mail address, users.info,
    cached): asked of Slack here, off the ack path. None when Slack cannot say. With
    POLICY_FILE (`community` given), their roles in the step's community."""

    def actor(user_id: str, community_id: str) -> Actor | None:
        try:
            if community is not None:
                return Actor(
                    user_id, users.email_of(user_id), community.roles_for(user_id, community_id)
                )
            try:
                held = quick.roles_of(user_id)
            except MembershipUnknown:
                held = roles.roles_of(user_id)
            return Actor(user_id, users.email_of(user_id), held)
        except Exception as exc:
            log.warning("role check for a step failed: %s", type(exc).__name__)
            return None

    return actor


def community_names(api: CommunitiesClient) -> Callable[[], dict[str, str]]:
    """{id: name} of the communities this integration may manage (cached by the client)."""

    def names() -> dict[str, str]:
        return {c.id: c.name for c in api.list_communities().communities}

    return names
