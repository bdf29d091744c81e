"""What a /community subcommand gets to work with, after the ack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.domain.roles import Role

if TYPE_CHECKING:
    from bot.slack.services import Services


@dataclass
class Invocation:
    user_id: str
    args: str
    roles: frozenset[Role]  # checked in the ack, at the moment of the command
    trigger_id: str
    respond: Respond
    client: WebClient
    services: Services
