from slack_bolt import App

from bot.slack.listeners.commands.community import (
    ack_community_command,
    run_community_command,
)


def register(app: App) -> None:
    app.command("/community")(ack=ack_community_command, lazy=[run_community_command])
