"""Modals and App Home tabs: the trigger_ids that open them, each user's stack of modals,
and what Slack does with the bot's answer to a view submission."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.slack_standin.blocks import MAX_VIEW_BLOCKS, block_problems, normalise_blocks
from bot.slack_standin.state.models import APP_ID, BOT_ID, TEAM_ID, SlackError
from bot.slack_standin.state.shared import Shared

MAX_STACK = 3  # views.push: Slack allows three modals on top of each other


@dataclass
class _Trigger:
    user_id: str
    issued_at: float
    used: bool = False
    number: int = 0


class Views:
    def __init__(self, shared: Shared, trigger_ttl: float | None = None) -> None:
        self._shared = shared
        self.trigger_ttl = trigger_ttl  # Slack's is 3 s; None keeps slow test machines happy
        self.clear()

    def clear(self) -> None:
        with self._shared.lock:
            self._views: dict[str, dict[str, Any]] = {}
            self._owner: dict[str, str] = {}
            self._stacks: dict[str, list[str]] = {}
            self._homes: dict[str, str] = {}
            self._triggers: dict[str, _Trigger] = {}
            self.last_trigger_used = 0  # the number of the trigger that last opened a view

    # Triggers -------------------------------------------------------------------------------

    def issue_trigger(self, user_id: str) -> str:
        """A trigger_id as Slack puts in interactions; views.open/push accept it once."""
        with self._shared.lock:
            number = self._shared.next_number("trigger")
            trigger_id = f"{number}.{TEAM_ID}.standin{number:04d}"
            self._triggers[trigger_id] = _Trigger(user_id, time.monotonic(), number=number)
            return trigger_id

    def use_trigger(self, trigger_id: str) -> str:
        """The user a trigger belongs to; it cannot be used again."""
        with self._shared.lock:
            trigger = self._triggers.get(trigger_id or "")
            if trigger is None:
                raise SlackError("invalid_trigger_id")
            if trigger.used:
                raise SlackError("trigger_exchanged")
            age = time.monotonic() - trigger.issued_at
            if self.trigger_ttl is not None and age > self.trigger_ttl:
                raise SlackError("expired_trigger_id")
            trigger.used = True
            self.last_trigger_used = trigger.number
            return trigger.user_id

    def triggers_issued(self) -> int:
        """How many trigger_ids were handed out so far (the console tells a modal opened
        for the line it carries out from one opened late, for an earlier line)."""
        with self._shared.lock:
            return max((t.number for t in self._triggers.values()), default=0)

    # Reading --------------------------------------------------------------------------------

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._shared.lock:
            return copy.deepcopy(self._views.get(view_id))

    def view_owner(self, view_id: str) -> str | None:
        with self._shared.lock:
            return self._owner.get(view_id)

    def by_external_id(self, external_id: str) -> str | None:
        """The ID of the latest view the bot gave this external_id."""
        with self._shared.lock:
            found = [v for v in self._views.values() if v.get("external_id") == external_id]
            return str(found[-1]["id"]) if found else None

    def view_stack(self, user_id: str) -> list[dict[str, Any]]:
        """The user's open modals, bottom first."""
        with self._shared.lock:
            return copy.deepcopy([self._views[v] for v in self._stacks.get(user_id, [])])

    def open_view(self, user_id: str) -> dict[str, Any] | None:
        """The modal the user is looking at (top of the stack), or None."""
        stack = self.view_stack(user_id)
        return stack[-1] if stack else None

    def stack_depth(self, user_id: str) -> int:
        with self._shared.lock:
            return len(self._stacks.get(user_id, []))

    def home(self, user_id: str) -> dict[str, Any] | None:
        with self._shared.lock:
            view_id = self._homes.get(user_id)
            return None if view_id is None else copy.deepcopy(self._views[view_id])

    def is_view_open(self, view_id: str) -> bool:
        with self._shared.lock:
            owner = self._owner.get(view_id, "")
            return view_id in self._stacks.get(owner, []) or self._homes.get(owner) == view_id

    # Changing -------------------------------------------------------------------------------

    def build(
        self,
        spec: Any,
        user_id: str,
        *,
        kind: str,
        previous: Mapping[str, Any] | None = None,
        keep: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Check `spec` as Slack would, then build and store the Slack view object. `keep` is
        the view being updated (its ID and position stay); `previous` is the modal a pushed
        view sits on."""
        _check_view_spec(spec, kind)
        with self._shared.lock:
            view_id = keep["id"] if keep else self._shared.next_id("V0", width=6)
            root = (keep or previous or {}).get("root_view_id") or view_id
            number = self._shared.next_number("hash")
            view = {
                "id": view_id,
                "team_id": TEAM_ID,
                "type": kind,
                "blocks": normalise_blocks(spec.get("blocks")),
                "private_metadata": spec.get("private_metadata", ""),
                "callback_id": spec.get("callback_id", ""),
                "state": {"values": {}},
                "hash": f"{1_700_000_000 + number}.standin{number:04d}",
                "title": spec.get("title"),
                "close": spec.get("close"),
                "submit": spec.get("submit"),
                "clear_on_close": bool(spec.get("clear_on_close", False)),
                "notify_on_close": bool(spec.get("notify_on_close", False)),
                "external_id": spec.get("external_id", ""),
                "previous_view_id": (keep or {}).get("previous_view_id")
                or (previous or {}).get("id"),
                "root_view_id": root,
                "app_id": APP_ID,
                "app_installed_team_id": TEAM_ID,
                "bot_id": BOT_ID,
            }
            self._views[view_id] = view
            self._owner[view_id] = user_id
            self._shared.notify()
            return copy.deepcopy(view)

    def push_view(self, user_id: str, view_id: str, *, replace_stack: bool = False) -> None:
        with self._shared.lock:
            if replace_stack:
                self._stacks[user_id] = []
            self._stacks.setdefault(user_id, []).append(view_id)
            self._shared.notify()

    def set_home(self, user_id: str, view_id: str) -> None:
        with self._shared.lock:
            self._homes[user_id] = view_id
            self._shared.notify()

    def close_top_view(self, user_id: str) -> str | None:
        """Pop the user's top modal (submitted or cancelled); returns its view_id."""
        with self._shared.lock:
            stack = self._stacks.get(user_id, [])
            view_id = stack.pop() if stack else None
            self._shared.notify()
            return view_id

    def clear_stack(self, user_id: str) -> None:
        with self._shared.lock:
            self._stacks[user_id] = []
            self._shared.notify()

    def set_view_state(self, view_id: str, values: dict[str, Any]) -> None:
        """Remember what the person typed, as Slack keeps it in `view.state`."""
        with self._shared.lock:
            self._views[view_id]["state"] = {"values": copy.deepcopy(values)}
            self._shared.notify()

    def apply_response_action(
        self, user_id: str, view_id: str, ack: Mapping[str, Any]
    ) -> dict[str, str] | None:
        """What Slack does with the bot's answer to a view submission (the driver calls it).
        Returns the field errors for "errors" (the modal stays). No response_action closes the
        submitted modal, as an empty 200 does in Slack."""
        action = ack.get("response_action")
        with self._shared.lock:
            if action == "errors":
                return {str(k): str(v) for k, v in dict(ack.get("errors") or {}).items()}
            if action == "update":
                self.build(ack.get("view"), user_id, kind="modal", keep=self.view(view_id))
            elif action == "push":
                if self.stack_depth(user_id) >= MAX_STACK:
                    raise SlackError("push_limit_reached")
                view = self.build(
                    ack.get("view"), user_id, kind="modal", previous=self.view(view_id)
                )
                self.push_view(user_id, view["id"])
            elif action == "clear":
                self.clear_stack(user_id)
            else:
                self.close_top_view(user_id)
            return None


def _check_view_spec(spec: Any, kind: str) -> None:
    """Refuse views Slack would refuse, with Slack's error name."""
    if not isinstance(spec, dict) or spec.get("type") != kind:
        raise SlackError("invalid_arguments")
    if kind == "modal" and not spec.get("title"):
        raise SlackError("invalid_arguments")
    if block_problems(spec.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS):
        raise SlackError("invalid_arguments")
    if len(str(spec.get("private_metadata", ""))) > 3000:
        raise SlackError("invalid_arguments")
    for key in ("title", "submit", "close"):
        if spec.get(key) and len(str(spec[key].get("text", ""))) > 24:
            raise SlackError("invalid_arguments")
