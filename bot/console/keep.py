"""What the interactive console keeps between runs: its state whole, or nothing.

The console's state lives in three places: the requests in Redis, the members in the
sandbox of the Communities API, and the messages in the Slack stand-in. Keeping only the
requests would leave a request approved last time pointing at a member the sandbox no
longer has. So an interactive run saves the sandbox's members next to its embedded Redis
(DATA_DIR/sandbox-members.json, after every line), and at start:

- by default it starts empty: the embedded Redis is cleared (before any worker reads it)
  and the saved members are dropped;
- with `--keep` it continues where the last run left off: the requests are there and the
  sandbox gets its members back. The Slack stand-in still starts empty: messages from
  earlier runs are gone, and the bot posts an approval message afresh when a kept request
  changes.

With REDIS_URL the requests are in that Redis, which the console never clears. A script
(`--script`) always runs in a fresh temporary folder, so it prints the same transcript.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bot.local.stack import LocalStack
from bot.runtime.settings import Settings
from bot.sandbox.state import AlreadyMember, UnknownCommunity

MEMBERS_FILE = "sandbox-members.json"


@dataclass(frozen=True)
class Keeping:
    settings: Settings
    keep: bool

    @property
    def data_dir(self) -> Path:
        return Path(self.settings.data_dir).resolve()

    @property
    def members_file(self) -> Path:
        return self.data_dir / MEMBERS_FILE

    def prepare(self, stack: LocalStack) -> None:
        """Keep the last run's state whole, or clear it; before any worker runs."""
        if self.keep:
            self._restore(stack)
            return
        if self.settings.uses_embedded_redis:
            stack.redis.flushdb()
        self.members_file.unlink(missing_ok=True)

    def save(self, stack: LocalStack) -> None:
        """Write the sandbox's members next to the requests (atomically)."""
        if stack.sandbox is None:
            return
        members = [
            {**member, "remaining_credit": str(member["remaining_credit"])}
            for member in stack.sandbox.state.members()
        ]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        scratch = self.members_file.with_suffix(".tmp")
        scratch.write_text(json.dumps(members, indent=1), encoding="utf-8")
        scratch.replace(self.members_file)

    def banner(self, stack: LocalStack) -> str:
        """The banner's line on where the data is, what this run kept, how to start over."""
        if not self.settings.uses_embedded_redis:
            members = (
                f"the sandbox's members are kept in {self.data_dir}"
                if self.keep
                else f"the sandbox starts empty (--keep keeps its members in {self.data_dir})"
            )
            return f"Data: in the Redis at REDIS_URL, never cleared by the console; {members}."
        if not self.keep:
            return (
                f"Data: {self.data_dir}. This run starts empty: what earlier runs left there "
                "was cleared; `python -m bot console --keep` continues where the last run "
                "left off."
            )
        waiting = len(stack.services.store.pending_ids(1000))
        members = " and the sandbox's members" if stack.sandbox is not None else ""
        return (
            f"Data: {self.data_dir}, kept from the last run: requests{members} ({waiting} "
            "waiting for approval: /community pending). Slack messages start empty. Without "
            "--keep, a run starts empty."
        )

    def _restore(self, stack: LocalStack) -> None:
        if stack.sandbox is None or not self.members_file.exists():
            return
        for member in json.loads(self.members_file.read_text(encoding="utf-8")):
            # A community no longer in SANDBOX_COMMUNITIES is left out.
            with contextlib.suppress(UnknownCommunity, AlreadyMember):
                stack.sandbox.state.add_member(
                    member["community_id"],
                    member["email"],
                    member["first_name"],
                    member["last_name"],
                    Decimal(member["remaining_credit"]),
                    member["external_reference"],
                )
