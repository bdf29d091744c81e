"""`run <step> name=value … [as <user>]`: a Workflow Builder workflow reaches one of the
bot's steps (docs/workflow-builder.md), and the console shows the step's completion once
the request is final.

The values are the step's inputs as manifest.yml declares them (`community_id`, `email`,
`credit`, …); `as <user>` names the workflow's user, the person the request is filed for
(default: you). A community is filled in when the integration manages just one.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from bot.console.form import ConsoleError
from bot.console.render import Names, mrkdwn
from bot.local.split import SplitStack
from bot.local.stack import LocalStack
from bot.slack_standin import DriverResult, StandInUser
from bot.slack_standin.state.functions import Execution

USAGE = "run what? e.g. run onboard_employee email=jane@example.com credit=750 as alice"


class StepRunner:
    """Runs steps as a workflow would, and tells each step's completion once."""

    def __init__(
        self,
        stack: LocalStack | SplitStack,
        names: Names,
        say: Callable[[str], None],
        users: list[StandInUser],
    ) -> None:
        self.stack = stack
        self.names = names
        self.say = say
        self.users = users
        self._told: dict[str, str] = {}  # execution ID -> the state last shown

    def start(self, text: str, current: StandInUser) -> Callable[[], DriverResult]:
        """Check the line and return what sends the step's `function_executed` to the bot."""
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise ConsoleError(f"{exc}; {USAGE}") from None
        if not words:
            raise ConsoleError(USAGE)
        step, words = words[0], words[1:]
        declared = self.stack.standin.functions.declared
        if step not in declared:
            raise ConsoleError(f"no step {step!r}; steps: {', '.join(declared)}")
        user = current
        if len(words) >= 2 and words[-2].casefold() == "as":
            user = self._user(words[-1])
            words = words[:-2]
        params = declared[step].get("input_parameters") or {}
        inputs: dict[str, Any] = {"requester": user.id}
        communities = self.stack.services.api.list_communities().communities
        if len(communities) == 1:
            inputs["community_id"] = communities[0].id
        for word in words:
            name, sep, value = word.partition("=")
            if not sep or name not in params:
                raise ConsoleError(
                    f"{word!r} is not name=value of a {step} input: {', '.join(params)}"
                )
            inputs[name] = _typed(params[name].get("type"), value, name)
        self.say(f"⚙ Workflow step {step} runs for @{user.name}.")
        return lambda: self.stack.driver.run_step(user.id, step, inputs)[1]

    def report(self) -> None:
        """Tell every step that completed or failed since last told."""
        for execution in self.stack.standin.functions.executions:
            if execution.state == "running" or self._told.get(execution.execution_id):
                continue
            self._told[execution.execution_id] = execution.state
            self._show(execution)

    def _show(self, execution: Execution) -> None:
        if execution.state == "failed":
            self.say(f"┌ Workflow step {execution.callback_id} · failed")
            self.say(f"│ {mrkdwn(execution.error, self.names)}")
            return
        self.say(f"┌ Workflow step {execution.callback_id} · completed")
        for name, value in (execution.outputs or {}).items():
            shown = f"<@{value}>" if name == "decided_by" else str(value)
            self.say(f"│ {name}: {mrkdwn(shown, self.names)}")

    def _user(self, who: str) -> StandInUser:
        wanted = who.lstrip("@").casefold()
        for user in self.users:
            if wanted in (user.name.casefold(), user.id.casefold()):
                return user
        raise ConsoleError(f"unknown user {who!r}; users: {', '.join(u.name for u in self.users)}")


def _typed(kind: Any, value: str, name: str) -> Any:
    """A typed value as Workflow Builder would hand it over: a number as a number."""
    if kind in ("number", "integer"):
        try:
            number = float(value)
        except ValueError:
            raise ConsoleError(f"{name} is a number, not {value!r}") from None
        return int(number) if number.is_integer() and "." not in value else number
    return value
