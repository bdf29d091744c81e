"""Tells people in Slack: the approval message (updated in place) and the requester's DMs.

Clicks and workers in several processes change a request concurrently. Notifications for
one request are serialised by a short Redis lock and always render the request as it is
now, so the message shows the latest state and DMs never arrive out of order.

Every step is tried on its own: a step Slack refuses is logged (with its error code, never
the message) and the next step still runs. An approval message Slack no longer has (deleted,
its channel archived or gone) is posted afresh in the approvals channel, and the request
points at the new one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import i18n
from bot.domain.members import MembersApi, NotAMember, RemainingCredit
from bot.domain.notifier import Event
from bot.domain.ports import RequestStore
from bot.domain.requests import MemberRequest, Operation, Status
from bot.domain.roles import Role, RoleDirectory
from bot.slack.blocks.requests import (
    approval_message,
    due_reminder,
    escalation,
    filed_dm,
    reminder,
    requester_dm,
)
from bot.slack.text import mentions

log = logging.getLogger("bot.slack")

T = TypeVar("T")

NOT_A_MEMBER = object()  # what a member look-up found when Coolblue knows no such member

# A DM for an event is only sent while the request is still in a state that event
# describes; if it moved on, the later event's DM tells the requester instead. The outcome
# of a round (done, failed) is only told after its approval was (the worker waits for
# that), so an approval is still news while its round is being carried out or finished.
_ROUND = {Status.SCHEDULED, Status.APPROVED, Status.EXECUTING, Status.DONE, Status.FAILED}
_CURRENT_FOR = {
    Event.FILED: {Status.PENDING} | _ROUND,
    Event.APPROVED: _ROUND,
    Event.RETRIED: _ROUND,
    Event.REJECTED: {Status.REJECTED},
    Event.EXPIRED: {Status.EXPIRED},
    Event.CANCELLED: {Status.CANCELLED},
    Event.DATE_CHANGED: {Status.SCHEDULED, Status.PENDING},
    Event.DONE: {Status.DONE},
    Event.FAILED: {Status.FAILED},
}


# Events that tell of a request in a final state (a Workflow Builder step then completes).
_FINAL_EVENTS = {Event.DONE, Event.FAILED, Event.REJECTED, Event.EXPIRED, Event.CANCELLED}

# Events that tell people a round of work was approved (the worker waits for them).
_ROUND_EVENTS = {Event.FILED, Event.APPROVED, Event.RETRIED}

# chat.update errors that mean the approval message can no longer be shown where it was.
MESSAGE_GONE = frozenset(
    {
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
    }
)

# How long publishing waits for Coolblue to name the employee of an offboarding.
NAME_LOOKUP_SECONDS = 2.0


class SlackNotifier:
    def __init__(
        self,
        client: WebClient,
        store: RequestStore,
        approvals_channel: str,
        roles: RoleDirectory,
        members: MembersApi | None = None,
        name_lookup_seconds: float = NAME_LOOKUP_SECONDS,
        offboard_at: str = "23:59",
    ) -> None:
        self.offboard_at = offboard_at  # "revoked tomorrow after 23:59"
        self.client = client
        self.store = store
        self.channel = approvals_channel
        self.roles = roles
        self.members = members
        self.name_lookup_seconds = name_lookup_seconds
        # Told after a final state was shown (Workflow Builder steps then complete:
        # bot.domain.steps.StepService.request_changed), in the process that made it.
        self.after_change: Callable[[str], None] | None = None
        # With POLICY_FILE: each community's channel ("" for none: APPROVALS_CHANNEL), and
        # the managers of one community (reminders mention them only).
        self.channel_for: Callable[[str], str] | None = None
        self.managers_of: Callable[[str], set[str]] | None = None
        # Whose language a message is written in, set by the runtime: a person's Slack
        # locale (DMs to the requester), a community's policy `language` (the approval
        # message and its thread). Unset: English.
        self.locale_of: Callable[[str], str] | None = None
        self.language_of: Callable[[str], str] | None = None

    def for_person(self, user_id: str) -> AbstractContextManager[object]:
        """Write in `user_id`'s Slack language (a DM sent later, on their behalf)."""
        locale = ""
        if self.locale_of is not None:
            try:
                locale = self.locale_of(user_id)
            except Exception as exc:  # Slack down: English rather than no DM
                log.info("no locale for a DM: %s", _kind(exc))
        return i18n.use(locale)

    def for_community(self, community_id: str) -> AbstractContextManager[object]:
        """Write in the community's policy language (approval messages, their threads)."""
        language = self.language_of(community_id) if self.language_of is not None else ""
        return i18n.use(language)

    def approvals_channel(self, community_id: str) -> str:
        """Where this community's approval messages go: its policy's channel, else
        APPROVALS_CHANNEL."""
        found = self.channel_for(community_id) if self.channel_for is not None else ""
        return found or self.channel

    def publish_filed(self, request: MemberRequest) -> None:
        """Post the approval message for a request just stored, then DM the requester."""
        with self._lock(request.id):
            request = self._with_employee_name(request)
            self._post_approval(request)
            # The message already shows `request`; update it only if the request moved on
            # meanwhile (a no-approval request the worker already carried out). A post that
            # failed is tried again on the next change, not now.
            self._render(request.id, Event.FILED, shown=request)

    def request_changed(self, request_id: str, event: Event) -> None:
        with self._lock(request_id):
            self._render(request_id, event)
        if self.after_change is not None and event in _FINAL_EVENTS:
            self.after_change(request_id)

    def remind(self, request: MemberRequest) -> None:
        if not request.message_ts:
            return
        managers = (
            self.managers_of(request.community_id)
            if self.managers_of is not None
            else self.roles.users_with(Role.MANAGER)
        )
        approvers = sorted(managers - {request.requester_id})
        with self.for_community(request.community_id):
            text = reminder(request)
        if approvers:
            text["text"] = f"{mentions(approvers)}: {text['text']}"
        self.client.chat_postMessage(channel=request.channel, thread_ts=request.message_ts, **text)

    def escalate(self, request: MemberRequest, approvers: list[str], channel: str) -> None:
        """A reply in the approval message's thread mentioning the escalation approvers
        (from now on they may decide), and a post in `channel` when one is set."""
        with self.for_community(request.community_id):
            text = escalation(request, approvers)
        if request.message_ts:
            self._attempt(
                "replying with the escalation",
                request.id,
                lambda: self.client.chat_postMessage(
                    channel=request.channel, thread_ts=request.message_ts, **text
                ),
            )
        if channel:
            self._attempt(
                "posting the escalation",
                request.id,
                lambda: self.client.chat_postMessage(channel=channel, **text),
            )

    def remind_due(self, request: MemberRequest) -> None:
        with self.for_person(request.requester_id):
            message = due_reminder(request, self.offboard_at)
        self.client.chat_postMessage(channel=request.requester_id, **message)

    # Steps -------------------------------------------------------------------------------

    def _render(self, request_id: str, event: Event, shown: MemberRequest | None = None) -> None:
        request = self.store.get(request_id)
        if request is None:
            return
        unchanged = shown is not None and (shown.status, shown.updated_at) == (
            request.status,
            request.updated_at,
        )
        if not unchanged:
            self._show_approval(request)
        if request.status in _CURRENT_FOR.get(event, set()):
            self._send_dm(request, event)
        if event is not Event.FILED and request.dm_ts:
            with self.for_person(request.requester_id):
                dm = filed_dm(request)
            self._attempt(
                "updating the filed DM",
                request.id,
                lambda: self.client.chat_update(channel=request.dm_channel, ts=request.dm_ts, **dm),
            )
        if event in _ROUND_EVENTS and request.rounds > request.announced_round:
            self._attempt(
                "marking the round as told",
                request.id,
                lambda: self.store.mark_round_announced(request_id, request.rounds),
            )

    def _show_approval(self, request: MemberRequest) -> None:
        """Update the approval message in place, or post it afresh where Slack lost it."""
        if request.message_ts:
            try:
                with self.for_community(request.community_id):
                    message = approval_message(request)
                self.client.chat_update(channel=request.channel, ts=request.message_ts, **message)
                return
            except SlackApiError as exc:
                error = _error_code(exc)
                if error not in MESSAGE_GONE:
                    log.warning("approval message of %s not updated: %s", request.id, error)
                    return
                log.warning(
                    "approval message of %s is gone (%s); posting it again", request.id, error
                )
            except Exception as exc:  # network, timeouts: the next change tries again
                log.warning("approval message of %s not updated: %s", request.id, _kind(exc))
                return
        self._post_approval(request)

    def _post_approval(self, request: MemberRequest) -> None:
        with self.for_community(request.community_id):
            message = approval_message(request)
        reply = self._attempt(
            "posting the approval message",
            request.id,
            lambda: self.client.chat_postMessage(
                channel=self.approvals_channel(request.community_id), **message
            ),
        )
        if reply is not None:
            self._attempt(
                "storing where the approval message is",
                request.id,
                lambda: self.store.set_fields(
                    request.id, channel=str(reply["channel"]), message_ts=str(reply["ts"])
                ),
            )

    def _send_dm(self, request: MemberRequest, event: Event) -> None:
        with self.for_person(request.requester_id):
            dm = requester_dm(request, event)
        reply = self._attempt(
            f"the {event.value} DM",
            request.id,
            lambda: self.client.chat_postMessage(channel=request.requester_id, **dm),
        )
        if reply is not None and event is Event.FILED:
            # Kept so the DM can follow the request (its Cancel button goes once decided).
            self._attempt(
                "storing where the filed DM is",
                request.id,
                lambda: self.store.set_fields(
                    request.id, dm_channel=str(reply["channel"]), dm_ts=str(reply["ts"])
                ),
            )

    def _with_employee_name(self, request: MemberRequest) -> MemberRequest:
        """An offboarding names only an e-mail address; Coolblue knows whose it is. Asked
        here, after the modal closed, for at most `name_lookup_seconds`: a slow or failing
        Communities API leaves the name out, it never holds the approval message back."""
        if request.operation is not Operation.REMOVE or request.employee_name:
            return request
        if request.status is not Status.PENDING and request.not_a_member:
            return request  # told already; no new look-up once decided
        credit = self._look_up_member(request)
        if credit is NOT_A_MEMBER:  # said in the message before anyone approves
            self._attempt(
                "storing that the address is not a member",
                request.id,
                lambda: self.store.set_fields(request.id, not_a_member="1"),
            )
            return replace(request, not_a_member=True)
        if isinstance(credit, RemainingCredit) and request.not_a_member:  # joined meanwhile
            self._attempt(
                "storing that the address is a member",
                request.id,
                lambda: self.store.set_fields(request.id, not_a_member="0"),
            )
            request = replace(request, not_a_member=False)
        if not isinstance(credit, RemainingCredit) or not (credit.first_name or credit.last_name):
            return request
        first, last = credit.first_name or "", credit.last_name or ""

        def store_names() -> bool:
            self.store.set_fields(request.id, first_name=first, last_name=last)
            return True

        stored = self._attempt("storing the employee's name", request.id, store_names)
        return replace(request, first_name=first, last_name=last) if stored else request

    def _look_up_member(self, request: MemberRequest) -> RemainingCredit | object | None:
        """The member, NOT_A_MEMBER when Coolblue says so, None when nobody knows."""
        members = self.members
        if members is None:
            return None
        found: list[RemainingCredit | object] = []
        finished = threading.Event()

        def look_up() -> None:
            try:
                found.append(members.get_remaining_credit(request.community_id, request.email))
            except NotAMember:
                found.append(NOT_A_MEMBER)
            except Exception as exc:  # Coolblue down: the name stays out
                log.info("no employee name for request %s: %s", request.id, _kind(exc))
            finally:
                finished.set()

        threading.Thread(target=look_up, name=f"name-{request.id}", daemon=True).start()
        finished.wait(self.name_lookup_seconds)
        return found[0] if found else None

    def _attempt(self, what: str, request_id: str, step: Callable[[], T]) -> T | None:
        """Run one step; a failure is logged (no message content) and yields None."""
        try:
            return step()
        except SlackApiError as exc:
            log.warning("%s failed for request %s: %s", what, request_id, _error_code(exc))
        except Exception as exc:
            log.warning("%s failed for request %s: %s", what, request_id, _kind(exc))
        return None

    def _lock(self, request_id: str) -> AbstractContextManager[object]:
        return self.store.notification_lock(request_id)


def _error_code(exc: SlackApiError) -> str:
    response: Any = exc.response
    try:
        return str(response.get("error") or "unknown_error")
    except AttributeError:
        return "unknown_error"


def _kind(exc: BaseException) -> str:
    """An exception's type only: its message may hold what was sent (names, addresses)."""
    return type(exc).__name__
