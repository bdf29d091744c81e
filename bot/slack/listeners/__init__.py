"""Slack listeners, grouped by surface. Each is thin: parse, check the role, call the
domain, render."""

from slack_bolt import App

from bot.slack.listeners import actions, commands, events, imports, steps, views


def register_listeners(app: App) -> None:
    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)
    imports.register(app)
    steps.register(app)
