"""/community audit: the audit trail as CSV, sent to the admin by DM."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain import audit
from bot.slack.listeners.commands.invocation import Invocation


def send_audit_trail(call: Invocation) -> None:
    content = audit.export_csv(call.services.redis)
    channel = call.client.conversations_open(users=call.user_id)["channel"]["id"]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    call.client.files_upload_v2(channel=channel, content=content,
                                filename=f"community-audit-{stamp}.csv",
                                title="Community Bot audit trail",
                                initial_comment="The audit trail you asked for.")
    call.respond({"response_type": "ephemeral", "text": "Sent the audit trail to your DMs."})
