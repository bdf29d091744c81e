from slack_bolt import App

from bot.slack.blocks.modals import ADD_EMPLOYEE, REJECT_REASON, REMOVE_EMPLOYEE
from bot.slack.listeners.views.add_employee import handle_add_employee_submission
from bot.slack.listeners.views.reject_reason import handle_reject_submission
from bot.slack.listeners.views.remove_employee import handle_remove_employee_submission


def register(app: App) -> None:
    app.view(ADD_EMPLOYEE)(handle_add_employee_submission)
    app.view(REMOVE_EMPLOYEE)(handle_remove_employee_submission)
    app.view(REJECT_REASON)(handle_reject_submission)
