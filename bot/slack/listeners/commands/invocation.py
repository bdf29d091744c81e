"""What a /community subcommand gets to work with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.domain.roles import Role
from bot.slack.blocks.replies import refusal

if TYPE_CHECKING:
    from bot.runtime.services import Services


@dataclass
class Invocation:
    user_id: str
    args: str
    trigger_id: str
    respond: Respond
    client: WebClient
    services: Services

    @property
    def roles(self) -> frozenset[Role]:
        return self.services.roles.roles_of(self.user_id)

    def require(self, action: str, *allowed: Role) -> bool:
        """Checked on the server at the moment of the command; tells the user when not."""
        if self.roles & set(allowed):
            return True
        self.respond(refusal(action, set(allowed)))
        return False
