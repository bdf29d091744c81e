from slack_bolt import App

from bot.slack.blocks.modals import ADD_EMPLOYEE, AWAY, CHANGE_DATE, REJECT_REASON, REMOVE_EMPLOYEE
from bot.slack.listeners.commands.away import handle_away_submission
from bot.slack.listeners.views.add_employee import handle_add_employee_submission
from bot.slack.listeners.views.change_date import (
    announce_date_change,
    handle_change_date_submission,
)
from bot.slack.listeners.views.reject_reason import (
    announce_rejection,
    handle_reject_submission,
)
from bot.slack.listeners.views.remove_employee import handle_remove_employee_submission
from bot.slack.listeners.views.request_submission import publish_filed_request


def register(app: App) -> None:
    # Validation and storing happen in the ack, so errors show in the modal and nothing is
    # lost; telling people happens after it.
    app.view(ADD_EMPLOYEE)(ack=handle_add_employee_submission, lazy=[publish_filed_request])
    app.view(REMOVE_EMPLOYEE)(ack=handle_remove_employee_submission, lazy=[publish_filed_request])
    app.view(REJECT_REASON)(ack=handle_reject_submission, lazy=[announce_rejection])
    app.view(CHANGE_DATE)(ack=handle_change_date_submission, lazy=[announce_date_change])
    app.view(AWAY)(handle_away_submission)
