"""Imports: /community import's modal, Approve, Reject and Stop on its message, and the
requester's Cancel (App Home, /community pending).
(The subcommand itself is routed by bot.slack.listeners.commands.community.)"""

from slack_bolt import App

from bot.slack.blocks.imports import (
    APPROVE_IMPORT,
    CANCEL_IMPORT,
    IMPORT_MODAL,
    IMPORT_REJECT,
    REJECT_IMPORT,
    STOP_IMPORT,
)
from bot.slack.listeners.acks import ack_at_once
from bot.slack.listeners.imports.decisions import (
    announce_import_rejection,
    handle_import_approve,
    handle_import_cancel,
    handle_import_reject,
    handle_import_reject_submission,
    handle_import_stop,
)
from bot.slack.listeners.imports.submission import (
    after_import_submission,
    handle_import_submission,
)


def register(app: App) -> None:
    app.view(IMPORT_MODAL)(ack=handle_import_submission, lazy=[after_import_submission])
    app.view(IMPORT_REJECT)(ack=handle_import_reject_submission, lazy=[announce_import_rejection])
    app.action(APPROVE_IMPORT)(ack=ack_at_once, lazy=[handle_import_approve])
    app.action(REJECT_IMPORT)(ack=ack_at_once, lazy=[handle_import_reject])
    app.action(STOP_IMPORT)(ack=ack_at_once, lazy=[handle_import_stop])
    app.action(CANCEL_IMPORT)(ack=ack_at_once, lazy=[handle_import_cancel])
