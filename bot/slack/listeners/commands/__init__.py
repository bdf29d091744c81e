from slack_bolt import App

from bot.slack.listeners.commands.community import handle_community_command


def register(app: App) -> None:
    app.command("/community")(handle_community_command)
