"""A local stand-in of the Slack Web API, and a driver that plays Slack towards the bot.

Used by the end-to-end tests and the local console: the bot talks to `SlackStandIn` exactly as
it talks to Slack (through slack_sdk's WebClient at `standin.api_url`), and `SlackDriver`
sends the bot the signed requests Slack would send when people use the app.
"""

from bot.slack_standin.driver import DriverResult, SlackDriver
from bot.slack_standin.server import SlackStandIn
from bot.slack_standin.state import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    Call,
    Message,
    SharedFile,
    SlackError,
    StandInUser,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_ID",
    "Call",
    "DriverResult",
    "Message",
    "SharedFile",
    "SlackDriver",
    "SlackError",
    "SlackStandIn",
    "StandInUser",
]
