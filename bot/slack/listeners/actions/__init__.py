from slack_bolt import App

from bot.slack.blocks.requests import APPROVE, CANCEL, CHANGE_DATE, REJECT, RETRY
from bot.slack.listeners.acks import ack_at_once
from bot.slack.listeners.actions.approve import handle_approve
from bot.slack.listeners.actions.cancel import handle_cancel
from bot.slack.listeners.actions.change_date import handle_change_date
from bot.slack.listeners.actions.reject import handle_reject
from bot.slack.listeners.actions.retry import handle_retry


def register(app: App) -> None:
    # A click is acknowledged at once; the role is checked in the lazy part, at the moment
    # it runs, against the stored request.
    app.action(APPROVE)(ack=ack_at_once, lazy=[handle_approve])
    app.action(REJECT)(ack=ack_at_once, lazy=[handle_reject])
    app.action(RETRY)(ack=ack_at_once, lazy=[handle_retry])
    app.action(CANCEL)(ack=ack_at_once, lazy=[handle_cancel])
    app.action(CHANGE_DATE)(ack=ack_at_once, lazy=[handle_change_date])
