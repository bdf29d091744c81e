"""The stand-in's world: everything Slack would remember, one small store per concern.

Each store keeps one concern (`Directory`: users, groups and conversations;
`Conversations`: messages and ephemeral messages; `Views`: modals, App Home and triggers;
`Uploads`: files; `ResponseUrls`; `CallLog`: Web API calls and injected failures). They all
share one `Shared`: one lock, so a Web API method that changes several stores does so
atomically, and one change signal, because the bot answers many interactions
asynchronously, after it acknowledged the HTTP request, and tests `wait_for` the result.
`SlackStandIn` (server.py) composes them.
"""

from bot.slack_standin.state.calls import CallLog
from bot.slack_standin.state.directory import Directory
from bot.slack_standin.state.files import Uploads
from bot.slack_standin.state.functions import Execution, Functions
from bot.slack_standin.state.messages import Conversations
from bot.slack_standin.state.models import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
    Call,
    Message,
    ResponseTarget,
    SharedFile,
    SlackError,
    StandInUser,
    truthy,
)
from bot.slack_standin.state.responses import ResponseUrls
from bot.slack_standin.state.shared import Shared
from bot.slack_standin.state.views import Views

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "VERIFICATION_TOKEN",
    "Call",
    "CallLog",
    "Conversations",
    "Directory",
    "Execution",
    "Functions",
    "Message",
    "ResponseTarget",
    "ResponseUrls",
    "Shared",
    "SharedFile",
    "SlackError",
    "StandInUser",
    "Uploads",
    "Views",
    "truthy",
]
