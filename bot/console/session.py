"""The console's interpreter: each line becomes the signed requests Slack would send, and
afterwards the console shows what the person at the keyboard would now see in Slack.

The bot answers asynchronously (it acknowledges first, works after), so every action is
followed by `settle`: wait for the first effect, then until the stand-in has been quiet for
a moment and the worker has finished what was approved, all bounded by a few seconds.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.console.form import (
    Answers,
    ConsoleError,
    Field,
    ModalCancelled,
    ScriptAnswers,
    fields_of,
)
from bot.console.mask import Masker
from bot.console.render import Names, mrkdwn, render_blocks, render_view_header
from bot.console.steps import StepRunner
from bot.domain.community_policy import PolicyBook
from bot.domain.roles import Role
from bot.i18n import use
from bot.local.split import SplitStack
from bot.local.stack import LocalStack
from bot.slack_standin import DriverResult, SharedFile, StandInUser
from bot.slack_standin.blocks import (
    build_state_values,
    client_side_problems,
    iter_elements,
    text_of,
)
from bot.storage import keys

APPROVALS = "approvals"
QUIET_SECONDS = 0.25  # no Web API call or response_url reply for this long: the bot is done
FIRST_EFFECT_SECONDS = 3.0  # Slack's own patience; an action showing nothing waits this long
SETTLE_LIMIT_SECONDS = 10.0  # including the worker carrying out an approval
WORKING_AFTER_SECONDS = 1.0  # an interactive command still waiting shows "working…" then
# Each sandbox call may take SANDBOX_LATENCY_MS; an action waits on at most this many in a row
# (a token, a look-up, the create), so the waits above grow by that much.
CALLS_IN_A_ROW = 4
_WORKING = {"approved", "executing"}
FILE_LINES = 200  # `file N` shows at most this many lines of a file

HELP = """\
Commands:
  as <user>           act as this person ({users})
  as <user> --locale nl
                      … and set their Slack language (nl, en, or a locale such as
                      nl-BE): the bot writes to them in it from then on
  /community <text>   type the slash command, e.g. /community add jane@example.com
  click <button>      press a button on the latest message, reply or view that has it
                      (several requests listed? name one: click Approve R2)
  dm                  read the direct messages the bot sent you since you last looked
  home                open the bot's App Home tab
  clock +2d           move the bot's clock ahead (d, h or m): dated changes fall due
  run <step> name=value … [as <user>]
                      a Workflow Builder workflow runs a step, e.g. run onboard_employee
                      email=jane@example.com first_name=Jane last_name=Doe credit=750 as alice
  files               list the files the bot sent you (the audit trail, say)
  file <N>            show file N of that list
  help                this list
  quit                leave (Ctrl-D works too)
In a modal, answer field by field: Enter keeps the [default] or leaves an optional field
empty; a choice is its number. Ctrl-C or Ctrl-D at a field cancels the modal."""


def policy_channels(book: PolicyBook | None) -> dict[str, str]:
    """{channel: name} for the policy file's approval and escalation channels."""
    if book is None or not book.from_file:
        return {}
    named: dict[str, str] = {}
    for community_id, policy in book.communities.items():
        if policy.channel:
            named.setdefault(policy.channel, f"approvals-{community_id}")
    for policy in book.communities.values():
        if policy.escalate_channel:
            named.setdefault(policy.escalate_channel, "escalations")
    return named


@dataclass(frozen=True)
class Surface:
    """Something on screen that may carry buttons: a message (channel or DM), an ephemeral
    reply, or a view. `owner` None means everyone in the approvals channel sees it."""

    kind: str  # "message" | "ephemeral" | "view"
    key: str  # message ts, or view ID
    channel: str = ""
    owner: str | None = None


class ConsoleSession:
    def __init__(
        self,
        stack: LocalStack | SplitStack,
        write: Callable[[str], None],
        mask: Masker,
        bold: Callable[[str], str] = str,
        interactive: bool = False,
    ) -> None:
        self.stack = stack
        # Interactive: "working…" while the bot is slow, and type-ahead is dropped before a
        # modal that opened late asks anything (a script's transcript never varies).
        self.interactive = interactive
        settings = stack.settings
        self.slowness = (
            CALLS_IN_A_ROW * settings.sandbox_latency_ms / 1000 if settings.uses_sandbox else 0.0
        )
        self.line = ""  # the command being carried out
        self.late: str | None = None  # a command whose effects had not all shown in time
        self.triggers_before = 0  # trigger_ids issued before the current line
        self.standin = stack.standin
        self.driver = stack.driver
        self.channel = stack.settings.approvals_channel or ""
        # With POLICY_FILE, each community's channel and the escalation channels too.
        self.channels = {self.channel: APPROVALS, **policy_channels(stack.services.book)}
        self.people = self.standin.users
        self.names = Names(
            {u.id: u.name for u in self.people},
            self.channels,
            ZoneInfo(stack.settings.timezone),
        )
        self.write = write
        self.mask = mask
        self.bold = bold
        self.user: StandInUser = self.people[0]
        self.shown: list[Surface] = []
        self.seen_ephemerals: dict[str, dict[str, str]] = {}
        self.seen_messages: dict[str, str] = {}
        self.seen_modal: dict[str, str] = {}
        self.seen_home: dict[str, str] = {}
        self.dms_read: dict[str, int] = {}
        self.dms_hinted: dict[str, int] = {}
        self.steps = StepRunner(stack, self.names, self.say, self.people)

    # ----------------------------------------------------------------------------------
    # Output

    def say(self, line: str = "") -> None:
        self.write(self.mask(line).rstrip())  # no trailing blanks: transcripts get pasted

    def _box(self, title: str, lines: list[str]) -> None:
        self.say(f"┌ {title}")
        for line in lines or ["(empty)"]:
            self.say(f"│ {line}")

    def prompt(self) -> str:
        return f"{self.user.name}> "

    def banner(self) -> None:
        settings = self.stack.settings
        redis = "embedded Redis" if settings.uses_embedded_redis else "Redis at REDIS_URL"
        api = (
            "the SANDBOX Communities API"
            if settings.uses_sandbox
            else f"the Coolblue {settings.environment_label} Communities API"
        )
        self.say(f"Community Bot local console: a Slack stand-in, {api}, {redis}.")
        people = ", ".join(f"{u.name} ({self._roles_text(u.id)})" for u in self.people)
        self.say(f"Users: {people}.")
        self.say("Type help for the commands.")

    def _roles_text(self, user_id: str) -> str:
        services = self.stack.services
        roles = services.roles.roles_of(user_id)
        if Role.ADMIN in roles:
            return "admin"
        if services.per_community and services.book and services.community:
            held = [
                f"{', '.join(sorted(found))} in {community_id}"
                for community_id in services.book.communities
                if (found := services.community.own_roles(user_id, community_id))
            ]
            return "; ".join(held) or "no role"
        return ", ".join(sorted(roles)) or "no role"

    # ----------------------------------------------------------------------------------
    # Commands

    def execute(self, line: str, answers: Answers) -> bool:
        """Carry out one line; False when the person asked to quit."""
        word, _, rest = line.strip().partition(" ")
        command = word.lower()
        self.line = line.strip()
        self.triggers_before = self.standin.views.triggers_issued()
        try:
            with use(self.locale_of(self.user.id)):  # the console reads as this person
                if not self._carry_out(word, command, rest, answers):
                    return False
        except (LookupError, TimeoutError) as exc:
            raise ConsoleError(str(exc)) from None
        if isinstance(answers, ScriptAnswers) and answers.unused():
            raise ConsoleError(f"no modal asked for {answers.unused()[0]!r}")
        return True

    def _carry_out(self, word: str, command: str, rest: str, answers: Answers) -> bool:
        if command in ("quit", "exit"):
            return False
        if command == "help":
            self.write(HELP.format(users=", ".join(u.name for u in self.people)))
        elif command == "as":
            self.act_as(rest.strip())
        elif command == "/community":
            self.slash_command(rest.strip(), answers)
        elif command == "click":
            self.click(rest.strip(), answers)
        elif command == "dm":
            self.show_dms()
        elif command == "home":
            self.open_home(answers)
        elif command == "clock":
            self.move_clock(rest.strip())
        elif command == "run":
            self._act(self.steps.start(rest.strip(), self.user), answers)
        elif command == "files":
            self.list_files()
        elif command == "file":
            self.show_file(rest.strip())
        else:
            raise ConsoleError(f"unknown command {word!r}{_did_you_mean(word, COMMANDS)}")
        return True

    def act_as(self, words: str) -> None:
        """`as alice`, or `as alice --locale nl`: act as alice, who from now on has set her
        Slack language to Dutch."""
        who, locale = _who_and_locale(words)
        wanted = who.lstrip("@").casefold()
        found = [u for u in self.people if wanted in (u.name.casefold(), u.id.casefold())]
        if not found:
            names = ", ".join(u.name for u in self.people)
            raise ConsoleError(f"unknown user {who!r}; users: {names}")
        self.user = found[0]
        if locale:
            self.set_locale(self.user.id, locale)
            reads = f"; Slack language {locale}"
        else:
            reads = ""
        self.say(f"You are now @{self.user.name} ({self._roles_text(self.user.id)}){reads}.")

    def set_locale(self, user_id: str, locale: str) -> None:
        """The person changes their Slack language; the bot forgets the locale it cached
        for them (keys.user_locale, kept 10 minutes) and learns the new one, as it would
        on their next request's lazy part, so even an ack's words are in the new one."""
        self.standin.directory.set_locale(user_id, locale)
        self.stack.services.users.cache.delete(keys.user_locale(user_id))
        self.stack.services.users.locale_of(user_id)

    def locale_of(self, user_id: str) -> str:
        """The Slack locale the stand-in has for this person (`en-US` unless changed)."""
        user = self.standin.directory.user(user_id)
        return user.locale if user is not None else ""

    def slash_command(self, text: str, answers: Answers) -> None:
        self._act(lambda: self.driver.command(self.user.id, text), answers)

    def click(self, words: str, answers: Answers) -> None:
        surface, block, button = self._find_button(words)
        label, value = text_of(button.get("text")), button.get("value")
        user, block_id = self.user.id, block["block_id"]

        def press() -> DriverResult:
            if surface.kind == "ephemeral":
                return self.driver.click_ephemeral(user, label, surface.key, value, block_id)
            if surface.kind == "view":
                return self.driver.click_in_view(user, label, surface.key, value, block_id)
            return self.driver.click(user, label, surface.channel, surface.key, value, block_id)

        self._act(press, answers)

    def show_dms(self) -> None:
        user = self.user.id
        dms = self.standin.dms(user)
        new = dms[self.dms_read.get(user, 0) :]
        self.dms_read[user] = self.dms_hinted[user] = len(dms)
        if not new:
            self.say("No new direct messages.")
        for message in new:
            lines = self._message_lines(message.text, message.blocks) + self._file_lines(
                message.files
            )
            self._box("DM from Community Bot", lines)
            self._remember(Surface("message", message.ts, message.channel, user))

    def list_files(self) -> None:
        files = self._files()
        if not files:
            self.say("No files were sent to you.")
            return
        lines = [f"{n}) {self._file_line(shared)}" for n, shared in enumerate(files, 1)]
        self._box(f"Files sent to @{self.user.name}", [*lines, "(file <N> shows one)"])

    def show_file(self, which: str) -> None:
        files = self._files()
        wanted = [
            shared
            for n, shared in enumerate(files, 1)
            if which in (str(n), shared.filename, self.mask(shared.filename))
        ]
        if not wanted:
            raise ConsoleError(
                f"no file {which!r} sent to @{self.user.name}; files lists them"
                if which
                else "file what? e.g. file 1 (files lists them)"
            )
        shared = wanted[0]
        lines = shared.content.decode(errors="replace").splitlines()
        shown = lines[:FILE_LINES] + (
            [f"… {len(lines) - FILE_LINES} more lines"] if len(lines) > FILE_LINES else []
        )
        self._box(f"{shared.filename} · {shared.title}", shown)

    def _files(self) -> list[SharedFile]:
        return self.standin.files(self.user.id)  # a user ID means the DM with that user

    def open_home(self, answers: Answers) -> None:
        self.seen_home.setdefault(self.user.id, "")  # from now on, show its updates too
        self._act(lambda: self.driver.open_home(self.user.id), answers)

    def _act(self, action: Callable[[], DriverResult], answers: Answers) -> None:
        """Send what Slack would send, wait for the bot, show what changed."""
        before = self._activity()
        self._check_answer(action())
        self._settle_for(self.line, before)
        self.report(answers)

    def _settle_for(self, line: str, before: tuple[int, int]) -> None:
        if not self.settle(before) and self.interactive:
            self.late = line
            self.say("(the bot is still at it; what it shows later appears after your next line)")

    # ----------------------------------------------------------------------------------
    # Waiting for the bot

    def settle(self, before: tuple[int, int]) -> bool:
        """Wait for the bot's asynchronous effects (`before`: `_activity()` before the
        action); see the module docstring. The bot is done when what it took on after the
        ack has finished, the stand-in has been quiet a moment and the worker is idle. False
        when the wait ran out first (a slow API): what it does later shows after a later
        line."""
        start = time.monotonic()
        first_effect = FIRST_EFFECT_SECONDS + self.slowness
        limit = SETTLE_LIMIT_SECONDS + 2 * self.slowness
        marker, working = before, False
        while self._activity() == marker and (
            time.monotonic() - start < first_effect or self.stack.answering()
        ):
            if time.monotonic() - start >= limit:
                return False
            time.sleep(0.01)
            working = self._working(start, working)
        quiet_since, marker = time.monotonic(), self._activity()
        while time.monotonic() - start < limit:
            time.sleep(0.025)
            now, current = time.monotonic(), self._activity()
            if current != marker:
                quiet_since, marker = now, current
            elif (
                now - quiet_since >= QUIET_SECONDS
                and not self.stack.answering()
                and not self._worker_busy()
            ):
                return True
            working = self._working(start, working)
        return False

    def _working(self, start: float, shown: bool) -> bool:
        """Say "working…" once, a second into an interactive wait; whether it was said."""
        if self.interactive and not shown and time.monotonic() - start >= WORKING_AFTER_SECONDS:
            self.say("working…")
            return True
        return shown

    def _activity(self) -> tuple[int, int]:
        return len(self.standin.calls), len(self.standin.responses)

    def _worker_busy(self) -> bool:
        """An approved request not yet carried out, as its message metadata says."""
        for channel in self.channels:
            for message in self.standin.messages(channel):
                payload = (message.metadata or {}).get("event_payload") or {}
                if payload.get("status") in _WORKING:
                    return True
        return False

    def _check_answer(self, result: DriverResult) -> None:
        if result.status_code != 200:
            raise ConsoleError(f"the bot answered HTTP {result.status_code}: {result.body[:200]}")
        if result.error:
            raise ConsoleError(f"Slack refused the bot's answer: {result.error}")

    # ----------------------------------------------------------------------------------
    # What changed for the person at the keyboard

    def report(self, answers: Answers) -> None:
        self._report_ephemerals()
        self._report_channel()
        self._report_home()
        self._report_dms()
        self.steps.report()
        self._report_modal(answers)

    def _report_ephemerals(self) -> None:
        seen = self.seen_ephemerals.setdefault(self.user.id, {})
        for shown in self.standin.ephemerals(self.user.id):
            fingerprint = _fingerprint(shown["text"], shown["blocks"])
            if seen.get(shown["ts"]) == fingerprint:
                continue
            updated = shown["ts"] in seen
            seen[shown["ts"]] = fingerprint
            title = "only visible to you" + (" (updated)" if updated else "")
            self._box(title, self._message_lines(shown["text"], shown["blocks"]))
            self._remember(Surface("ephemeral", shown["ts"], shown["channel"], self.user.id))

    def _report_channel(self) -> None:
        for channel, name in self.channels.items():
            for message in self.standin.messages(channel):
                key = f"{channel}/{message.ts}"
                fingerprint = _fingerprint(message.text, message.blocks)
                if self.seen_messages.get(key) == fingerprint:
                    continue
                what = "message updated" if key in self.seen_messages else "new message"
                self.seen_messages[key] = fingerprint
                self._box(f"#{name} · {what}", self._message_lines(message.text, message.blocks))
                self._remember(Surface("message", message.ts, message.channel))

    def _report_home(self) -> None:
        user = self.user.id
        home = self.standin.home(user)
        if home is None or user not in self.seen_home or self.seen_home[user] == home["hash"]:
            return
        updated = " (updated)" if self.seen_home[user] else ""
        self.seen_home[user] = home["hash"]
        self._box(f"App Home of @{self.user.name}{updated}", self._lines(home["blocks"]))
        self._remember(Surface("view", home["id"], owner=user))

    def _report_dms(self) -> None:
        for person in self.people:
            count = len(self.standin.dms(person.id))
            new = count - self.dms_hinted.get(person.id, 0)
            if new <= 0:
                continue
            self.dms_hinted[person.id] = count
            plural = "s" if new > 1 else ""
            if person.id == self.user.id:
                self.say(f"✉ You got {new} new DM{plural} from Community Bot (type dm).")
            else:
                self.say(f"✉ @{person.name} got {new} new DM{plural} from Community Bot.")

    def _report_modal(self, answers: Answers) -> None:
        user = self.user.id
        top = self.standin.open_view(user)
        key = f"{top['id']}:{top['hash']}" if top else ""
        if key == self.seen_modal.get(user, ""):
            return
        self.seen_modal[user] = key
        if top is None:
            return
        if self.standin.views.last_trigger_used <= self.triggers_before:  # not this line's
            self._late_modal(top)
        self.fill_modal(top, answers)

    def _late_modal(self, view: dict[str, Any]) -> None:
        """A modal opened for an earlier line, after the console stopped waiting for it:
        say so before it asks anything, and drop what was typed before it showed (that was
        meant for other commands, never for this modal)."""
        earlier = f"`{self.late}`" if self.late else "an earlier line"
        title = text_of(view.get("title")) or "a"
        self.say(f"The {title} modal of {earlier} opened late; it asks now.")
        self.say("(Ctrl-C cancels it.)")
        self.late = None
        if self.interactive:
            drop_type_ahead()

    def _remember(self, surface: Surface) -> None:
        if surface in self.shown:
            self.shown.remove(surface)
        self.shown.append(surface)

    # ----------------------------------------------------------------------------------
    # Modals

    def fill_modal(self, view: dict[str, Any], answers: Answers) -> None:
        """Ask every field, then submit, as Slack does: every field in trouble is told at
        once (an answer that is not a choice, what the Slack client refuses, what the bot
        refuses), and only those fields are asked again."""
        fields = fields_of(view)
        if isinstance(answers, ScriptAnswers):
            answers.check_fields(fields)
        body = [b for b in view.get("blocks", []) if b.get("type") != "input"]
        self._box(f"modal · {render_view_header(view)}", self._lines(body))
        self._remember(Surface("view", view["id"], owner=self.user.id))
        values: dict[str, str | None] = {}
        asking, again = fields, False
        while True:
            if again and isinstance(answers, ScriptAnswers) and (gone := answers.missing(asking)):
                named = ", ".join(repr(f.label) for f in gone)
                raise ConsoleError(f"the script gives no other answer for {named}")
            unchosen: dict[str, str] = {}
            try:
                for field in asking:
                    values[field.action_id], problem = self._ask(field, answers, again)
                    if problem:
                        unchosen[field.block_id] = problem
            except ModalCancelled:
                self.driver.close_view(self.user.id)
                self.seen_modal[self.user.id] = ""
                self.say("└ cancelled")
                return
            if unchosen:  # nothing is sent; the Slack client's own checks are told too
                problems = client_side_problems(view["blocks"], self._state(view, values))
                asking, again = self._show_errors(fields, {**problems, **unchosen}), True
                continue
            before = self._activity()
            result = self.driver.fill_and_submit(
                self.user.id, view["id"], attached(fields, values), client_checks=True
            )
            if not result.errors:
                break
            asking, again = self._show_errors(fields, result.errors), True
        self._check_answer(result)
        self.say(f"└ [{text_of(view.get('submit')) or 'Submit'}] sent")
        self.seen_modal[self.user.id] = ""
        self._settle_for(self.line, before)
        self.report(answers)

    @staticmethod
    def _state(view: dict[str, Any], values: dict[str, str | None]) -> dict[str, Any]:
        return build_state_values(view["blocks"], values)

    def _ask(self, field: Field, answers: Answers, again: bool) -> tuple[str | None, str]:
        """The value for one field, and a problem when the answer is not one of its choices
        (the field then keeps its default until asked again)."""
        if field.choices:
            self.say(f"│ {field.label}, one of:")
        for number, (text, _) in enumerate(field.choices, 1):
            self.say(f"│   {number}) {text}")
        given = answers.answer(field, f"│ {field.prompt()}", again)
        if field.kind == "file_input" and given.strip():
            problem = file_problem(given.strip())
            if problem:
                return None, problem
        if field.kind == "datepicker" and given.strip():
            try:
                given = self._date(given.strip()).isoformat()
            except ValueError as exc:
                return field.default, str(exc)
        try:
            return field.value_for(given), ""
        except ValueError as exc:
            return field.default, str(exc)

    def _date(self, answer: str) -> date:
        """A date as typed: 2027-01-31, today, tomorrow or +3d (from the bot's clock, so a
        script reads the same on any day)."""
        today = self.stack.services.policy.schedule.today(self.stack.clock.now())
        relative = {"today": 0, "tomorrow": 1}
        if answer.casefold() in relative:
            return today + timedelta(days=relative[answer.casefold()])
        if match := re.fullmatch(r"\+(\d{1,3})d", answer):
            return today + timedelta(days=int(match.group(1)))
        try:
            return date.fromisoformat(answer)
        except ValueError:
            raise ValueError(f"{answer!r} is not a date; type 2027-01-31, today or +3d.") from None

    def move_clock(self, text: str) -> None:
        """`clock +2d`: move the bot's clock forward (days, hours or minutes) and show what
        happens then: scheduled changes that fall due run, reminders go out."""
        if isinstance(self.stack, SplitStack):
            raise ConsoleError(
                "the clock moves only in the one-process console (python -m bot console): "
                "the web and worker processes here each read their own"
            )
        match = re.fullmatch(r"\+(\d{1,4})([dhm])", text)
        if not match:
            raise ConsoleError("clock what? e.g. clock +2d, clock +3h or clock +30m")
        seconds = int(match.group(1)) * {"d": 86400, "h": 3600, "m": 60}[match.group(2)]
        clock, store = self.stack.clock, self.stack.services.store
        target = clock.now() + seconds
        self.say(f"The bot's clock moves {match.group(1)}{match.group(2)} ahead.")
        # Time passes in steps, to each scheduled change's due time on the way, so each runs
        # on time (as with a worker up all along), not late all at once at the end.
        while due := [r.due_at for r in store.get_many(store.scheduled_ids(target))]:
            before = self._activity()
            clock.advance(max(0.0, min(due) + 1 - clock.now()))
            self.settle(before)
        before = self._activity()
        clock.advance(max(0.0, target - clock.now()))
        self.settle(before)
        self.report(ScriptAnswers([], self.say))  # a moved clock opens no modal

    def _show_errors(self, fields: list[Field], errors: dict[str, str]) -> list[Field]:
        """Show each error on its field; the fields to ask again."""
        by_block = {f.block_id: f for f in fields}
        in_form_order = [f.block_id for f in fields if f.block_id in errors]
        for block_id in in_form_order + [b for b in errors if b not in by_block]:
            label = by_block[block_id].label if block_id in by_block else block_id
            self.say(f"│ ✗ {label}: {mrkdwn(errors[block_id], self.names)}")
        asking = [f for f in fields if f.block_id in errors]
        if not asking:
            raise ConsoleError(f"the modal was refused: {errors}")
        return asking

    # ----------------------------------------------------------------------------------
    # Buttons

    def _find_button(self, words: str) -> tuple[Surface, dict[str, Any], dict[str, Any]]:
        """The newest surface shown to this user with that button. "Approve R2" also reads
        as the Approve button of request R2, for lists with one Approve per request."""
        if not words:
            raise ConsoleError("click what? e.g. click Approve")
        label, _, last = words.rpartition(" ")
        tries = [(words, None)] + ([(label, self.mask.unmask(last))] if label else [])
        for wanted, value in tries:
            for surface in reversed(self.shown):
                matches = self._buttons_on(surface, wanted, value)
                if len(matches) == 1:
                    return surface, *matches[0]
                if matches:
                    choices = ", ".join(str(e.get("value")) for _, e in matches)
                    raise ConsoleError(
                        f"{len(matches)} buttons [{wanted}] here ({choices}); "
                        f"say which, e.g. click {wanted} <request ID>"
                    )
        labels = sorted({label for surface in self.shown for label in self._labels_on(surface)})
        raise ConsoleError(
            f"no button [{words}] on anything shown to @{self.user.name}"
            + _did_you_mean(words, labels, lambda label: f"click {label}", otherwise="")
        )

    def _labels_on(self, surface: Surface) -> list[str]:
        if surface.owner not in (None, self.user.id):
            return []
        blocks = self._current_blocks(surface) or []
        return [
            text_of(e.get("text")) for _, e in iter_elements(blocks) if e.get("type") == "button"
        ]

    def _buttons_on(
        self, surface: Surface, label: str, value: str | None
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        if surface.owner not in (None, self.user.id):
            return []
        blocks = self._current_blocks(surface) or []
        return [
            (b, e)
            for b, e in iter_elements(blocks)
            if e.get("type") == "button"
            and text_of(e.get("text")).casefold() == label.casefold()
            and (value is None or e.get("value") == value)
        ]

    def _current_blocks(self, surface: Surface) -> list[dict[str, Any]] | None:
        """The blocks as they are now: a click on a button an update removed must fail."""
        if surface.kind == "ephemeral":
            shown = self.standin.ephemeral(self.user.id, surface.key)
            return None if shown is None or shown["deleted"] else shown["blocks"]
        if surface.kind == "view":
            view = self.standin.view(surface.key)
            return view["blocks"] if view and self.standin.is_view_open(surface.key) else None
        message = self.standin.message(surface.channel, surface.key)
        return None if message is None else message.blocks

    # ----------------------------------------------------------------------------------
    # Rendering helpers

    def _lines(self, blocks: list[dict[str, Any]]) -> list[str]:
        return render_blocks(blocks, self.names, self.bold)

    def _message_lines(self, text: str, blocks: list[dict[str, Any]]) -> list[str]:
        # Slack shows the blocks when there are any; `text` is then only the notification.
        return self._lines(blocks) if blocks else mrkdwn(text, self.names, self.bold).splitlines()

    def _file_lines(self, file_ids: list[str]) -> list[str]:
        found = [self.standin.file(file_id) for file_id in file_ids]
        return [self._file_line(shared) for shared in found if shared is not None]

    @staticmethod
    def _file_line(shared: SharedFile) -> str:
        rows = max(len(shared.content.decode(errors="replace").splitlines()) - 1, 0)
        return f"📎 {shared.filename} · {shared.title} · {rows} rows"


LOCALE = re.compile(r"[a-z]{2}(-[A-Z]{2})?")
SHORT_LOCALES = {"nl": "nl-NL", "en": "en-US"}


def _who_and_locale(words: str) -> tuple[str, str]:
    """`alice --locale nl` -> ("alice", "nl-NL"); `alice` -> ("alice", "")."""
    who, flag, locale = words.partition("--locale")
    who, locale = who.strip(), locale.strip()
    if not flag:
        return who, ""
    if not who:
        raise ConsoleError("as whom? e.g. as alice --locale nl")
    locale = SHORT_LOCALES.get(locale.lower(), locale)
    if not LOCALE.fullmatch(locale):
        raise ConsoleError(
            f"{locale!r} is no locale; e.g. as {who} --locale nl (or en, nl-BE, en-GB)"
            if locale
            else f"--locale what? e.g. as {who} --locale nl (or en)"
        )
    return who, locale


def drop_type_ahead() -> None:
    """Forget what was typed at the terminal and not read yet (a pipe keeps its lines)."""
    with contextlib.suppress(ImportError, OSError, ValueError):
        import termios

        if sys.stdin.isatty():
            termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)


COMMANDS = ("as", "/community", "click", "dm", "home", "clock", "files", "file", "help", "quit")


def _did_you_mean(
    typed: str,
    known: list[str] | tuple[str, ...],
    shown: Callable[[str], str] = str,
    otherwise: str = "; type help",
) -> str:
    """'; did you mean …?' for a near miss (difflib), else `otherwise`."""
    by_case = {word.casefold(): word for word in known}
    close = difflib.get_close_matches(typed.casefold(), list(by_case), n=1, cutoff=0.6)
    return f"; did you mean {shown(by_case[close[0]])}?" if close else otherwise


def _fingerprint(text: str, blocks: list[dict[str, Any]]) -> str:
    return json.dumps([text, blocks], sort_keys=True)


def file_problem(answer: str) -> str:
    """Why a file input's answer (a path, from the folder the console runs in) is no file."""
    path = Path(answer).expanduser()
    return "" if path.is_file() else f"No file {answer!r} here; type the path of a CSV file."


def attached(fields: list[Field], values: dict[str, str | None]) -> dict[str, Any]:
    """The values to submit, a file input's path as the file itself (the driver reads it,
    as a person picks a file in Slack)."""
    files = {f.action_id for f in fields if f.kind == "file_input"}
    return {
        key: Path(value).expanduser() if key in files and value else value
        for key, value in values.items()
    }
