from slack_bolt import App

from bot.slack.listeners.acks import ack_at_once
from bot.slack.listeners.events.app_home_opened import handle_app_home_opened


def register(app: App) -> None:
    app.event("app_home_opened")(ack=ack_at_once, lazy=[handle_app_home_opened])
