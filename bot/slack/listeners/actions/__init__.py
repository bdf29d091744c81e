from slack_bolt import App

from bot.slack.blocks.requests import APPROVE, CANCEL, REJECT, RETRY
from bot.slack.listeners.actions.approve import handle_approve
from bot.slack.listeners.actions.cancel import handle_cancel
from bot.slack.listeners.actions.reject import handle_reject
from bot.slack.listeners.actions.retry import handle_retry


def register(app: App) -> None:
    app.action(APPROVE)(handle_approve)
    app.action(REJECT)(handle_reject)
    app.action(RETRY)(handle_retry)
    app.action(CANCEL)(handle_cancel)
