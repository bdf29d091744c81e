"""Tells people in Slack: the approval message (updated in place) and the requester's DMs.

Clicks and workers in several processes change a request concurrently. Notifications for
one request are serialised by a short Redis lock and always render the request as it is
now, so the message shows the latest state and DMs never arrive out of order.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager

from slack_sdk import WebClient

from bot.domain.notifier import Event
from bot.domain.ports import RequestStore
from bot.domain.requests import MemberRequest, Status
from bot.domain.roles import Role, RoleDirectory
from bot.slack.blocks.requests import approval_message, reminder, requester_dm
from bot.slack.text import mentions

log = logging.getLogger("bot.slack")

# A DM for an event is only sent while the request is still in a state that event
# describes; if it moved on, the later event's DM tells the requester instead. The outcome
# of a round (done, failed) is only told after its approval was (the worker waits for
# that), so an approval is still news while its round is being carried out or finished.
_ROUND = {Status.APPROVED, Status.EXECUTING, Status.DONE, Status.FAILED}
_CURRENT_FOR = {
    Event.FILED: {Status.PENDING} | _ROUND,
    Event.APPROVED: _ROUND,
    Event.RETRIED: _ROUND,
    Event.REJECTED: {Status.REJECTED},
    Event.EXPIRED: {Status.EXPIRED},
    Event.CANCELLED: {Status.CANCELLED},
    Event.DONE: {Status.DONE},
    Event.FAILED: {Status.FAILED},
}


# Events that tell people a round of work was approved (the worker waits for them).
_ROUND_EVENTS = {Event.FILED, Event.APPROVED, Event.RETRIED}


class SlackNotifier:
    def __init__(
        self, client: WebClient, store: RequestStore, approvals_channel: str, roles: RoleDirectory
    ) -> None:
        self.client = client
        self.store = store
        self.channel = approvals_channel
        self.roles = roles

    def publish_filed(self, request: MemberRequest) -> None:
        """Post the approval message for a request just stored, then DM the requester."""
        with self._lock(request.id):
            reply = self.client.chat_postMessage(channel=self.channel, **approval_message(request))
            self.store.set_fields(
                request.id, channel=str(reply["channel"]), message_ts=str(reply["ts"])
            )
            # The message already shows `request`; update it only if the request moved on
            # meanwhile (a no-approval request the worker already carried out).
            self._render(request.id, Event.FILED, shown=request)

    def request_changed(self, request_id: str, event: Event) -> None:
        with self._lock(request_id):
            self._render(request_id, event)

    def remind(self, request: MemberRequest) -> None:
        if not request.message_ts:
            return
        approvers = sorted(self.roles.users_with(Role.MANAGER) - {request.requester_id})
        text = reminder(request)
        if approvers:
            text["text"] = f"{mentions(approvers)}: {text['text']}"
        self.client.chat_postMessage(channel=request.channel, thread_ts=request.message_ts, **text)

    def _render(self, request_id: str, event: Event, shown: MemberRequest | None = None) -> None:
        request = self.store.get(request_id)
        if request is None:
            return
        unchanged = shown is not None and (shown.status, shown.updated_at) == (
            request.status,
            request.updated_at,
        )
        if request.message_ts and not unchanged:
            self.client.chat_update(
                channel=request.channel, ts=request.message_ts, **approval_message(request)
            )
        if request.status in _CURRENT_FOR.get(event, set()):
            self.client.chat_postMessage(
                channel=request.requester_id, **requester_dm(request, event)
            )
        if event in _ROUND_EVENTS and request.rounds > request.announced_round:
            self.store.mark_round_announced(request_id, request.rounds)

    def _lock(self, request_id: str) -> AbstractContextManager[object]:
        return self.store.notification_lock(request_id)
