"""Tells people in Slack: the approval message (updated in place) and the requester's DMs."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.domain.notifier import Event
from bot.domain.requests import MemberRequest
from bot.domain.roles import Role, RoleDirectory
from bot.domain.store import RequestStore
from bot.slack.blocks.requests import approval_message, reminder, requester_dm
from bot.slack.text import mentions

log = logging.getLogger("bot.slack")

# DMs for these only; a partial approval is shown on the message, not pushed to the requester.
_DM_EVENTS = set(Event) - {Event.APPROVAL_RECORDED}


class SlackNotifier:
    def __init__(self, client: WebClient, store: RequestStore, approvals_channel: str,
                 roles: RoleDirectory) -> None:
        self.client = client
        self.store = store
        self.channel = approvals_channel
        self.roles = roles

    def post_approval_message(self, request: MemberRequest) -> tuple[str, str]:
        reply = self.client.chat_postMessage(channel=self.channel, **approval_message(request))
        return str(reply["channel"]), str(reply["ts"])

    def publish_filed(self, request: MemberRequest) -> None:
        """Post the approval message for a request just stored, then DM the requester."""
        channel, ts = self.post_approval_message(request)
        self.store.set_fields(request.id, channel=channel, message_ts=ts)
        # The worker may have finished a no-approval request meanwhile: show the latest.
        self._refresh_message(request.id)
        self.request_changed(request, Event.FILED, update_message=False)

    def request_changed(self, request: MemberRequest, event: Event, *,
                        update_message: bool = True) -> None:
        if update_message:
            self._refresh_message(request.id)
        if event in _DM_EVENTS:
            self.client.chat_postMessage(channel=request.requester_id,
                                         **requester_dm(request, event))

    def remind(self, request: MemberRequest) -> None:
        if not request.message_ts:
            return
        approvers = sorted(self.roles.users_with(Role.MANAGER) - {request.requester_id})
        text = reminder(request)
        if approvers:
            text["text"] = f"{mentions(approvers)}: {text['text']}"
        self.client.chat_postMessage(channel=request.channel, thread_ts=request.message_ts,
                                     **text)

    def _refresh_message(self, request_id: str) -> None:
        # Processes may update the same message concurrently; each re-reads after its
        # update and renders again if the request moved on, so the last state wins.
        for _ in range(3):
            request = self.store.get(request_id)
            if request is None or not request.message_ts:
                return
            self.client.chat_update(channel=request.channel, ts=request.message_ts,
                                    **approval_message(request))
            if self._unchanged(request):
                return

    def _unchanged(self, request: MemberRequest) -> bool:
        latest = self.store.get(request.id)
        return latest is None or (latest.status, latest.updated_at) == (
            request.status, request.updated_at)
