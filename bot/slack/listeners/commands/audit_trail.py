"""/community audit: the audit trail as CSV, sent to the admin by DM, written for them
(bot.domain.audit.write_csv follows the reader's language: in Dutch `;`, decimal commas,
Dutch column names and a BOM, so Dutch Excel opens it as columns)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime

from bot.domain import audit
from bot.i18n import t
from bot.slack.listeners.commands.invocation import Invocation


def send_audit_trail(call: Invocation) -> None:
    channel = call.client.conversations_open(users=call.user_id)["channel"]["id"]
    # The bot's clock, as every time in the trail (the console moves it with `clock +2d`).
    stamp = datetime.fromtimestamp(call.services.clock.now(), UTC).strftime("%Y%m%d-%H%M%S")
    # Written to a temporary file a page at a time: a long trail never sits in memory whole.
    with tempfile.NamedTemporaryFile("w+", suffix=".csv", newline="", encoding="utf-8") as out:
        audit.write_csv(call.services.audit_log.entries(), out)
        out.flush()
        call.client.files_upload_v2(
            channel=channel,
            file=out.name,
            filename=f"community-audit-{stamp}.csv",
            title=t("Community Bot audit trail"),
            initial_comment=t("The audit trail you asked for."),
        )
    call.respond({"response_type": "ephemeral", "text": t("Sent the audit trail to your DMs.")})
