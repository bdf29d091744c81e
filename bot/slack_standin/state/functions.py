"""Workflow Builder steps as Slack runs them: the app's declared functions (manifest.yml's
`functions`), their executions, and the completions the app sends back.

What the stand-in checks, as Slack documents it (docs/workflow-builder.md):
- an execution completes once: a second functions.completeSuccess or completeError is
  refused `execution_not_in_running_state`; an unknown ID `function_execution_not_found`;
- the outputs match the declared output parameters (names, required, types), else
  `parameter_validation_failed`;
- the execution's own token (`bot_access_token` in the event) works until the execution
  completes or 15 minutes pass (`token_revoked` afterwards); the bot token always works.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.slack_standin.state.models import SlackError
from bot.slack_standin.state.shared import Shared

TOKEN_SECONDS = 15 * 60
DEFAULT_MANIFEST = Path(__file__).resolve().parents[3] / "manifest.yml"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass
class Execution:
    execution_id: str
    callback_id: str
    inputs: dict[str, Any]
    token: str
    issued_at: float  # monotonic
    state: str = "running"  # running | completed | failed
    outputs: dict[str, Any] | None = None
    error: str = ""
    completions: list[str] = field(default_factory=list)  # every attempt: ok | <error>


def load_functions(path: Path | None) -> dict[str, dict[str, Any]]:
    """The `functions` of a manifest file; none when there is no file."""
    if path is None or not path.is_file():
        return {}
    import yaml  # the manifest is YAML, as Slack takes it

    manifest = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(manifest.get("functions") or {})


def type_problem(kind: str, value: Any) -> str:
    """Why `value` is not of the declared Slack type; "" when it is."""
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "slack#/types/user_id":
        ok = isinstance(value, str) and bool(_USER_ID.match(value))
    elif kind == "slack#/types/date":
        ok = isinstance(value, str) and _is_date(value)
    else:
        ok = value is not None
    return "" if ok else f"expected {kind}"


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def parameter_problems(declared: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """Every way `given` misses the declared parameters: unknown names, missing required
    ones, wrong types."""
    problems = [f"{name}: not a parameter" for name in given if name not in declared]
    for name, spec in declared.items():
        if name not in given or given[name] is None:
            if spec.get("is_required"):
                problems.append(f"{name}: required")
            continue
        if problem := type_problem(str(spec.get("type")), given[name]):
            problems.append(f"{name}: {problem}")
    return problems


class Functions:
    def __init__(self, shared: Shared, manifest: Path | None = DEFAULT_MANIFEST) -> None:
        self._shared = shared
        self.declared = load_functions(manifest)
        self.clear()

    def clear(self) -> None:
        with self._shared.lock:
            self._executions: dict[str, Execution] = {}

    def start(self, callback_id: str, inputs: dict[str, Any]) -> Execution:
        """A workflow reaches the step: a new execution (refused as Workflow Builder would
        refuse to publish a workflow whose step inputs do not fit)."""
        spec = self.declared.get(callback_id)
        if spec is None:
            raise LookupError(f"the manifest declares no function {callback_id!r}")
        problems = parameter_problems(spec.get("input_parameters") or {}, inputs)
        if problems:
            raise ValueError(f"inputs of {callback_id}: " + "; ".join(problems))
        with self._shared.lock:
            number = self._shared.next_number("function_execution")
            execution = Execution(
                execution_id=f"Fx{number:08d}",
                callback_id=callback_id,
                inputs=dict(inputs),
                token=f"xwfp-standin-{number:08d}",
                issued_at=time.monotonic(),
            )
            self._executions[execution.execution_id] = execution
            self._shared.notify()
            return execution

    def execution(self, execution_id: str) -> Execution | None:
        with self._shared.lock:
            return self._executions.get(execution_id)

    @property
    def executions(self) -> list[Execution]:
        with self._shared.lock:
            return list(self._executions.values())

    def age_tokens(self, seconds: float) -> None:
        """Let `seconds` pass for every execution's own token (15 minutes: they expire)."""
        with self._shared.lock:
            for execution in self._executions.values():
                execution.issued_at -= seconds

    def token_state(self, token: str) -> str:
        """ "valid", "revoked" (its execution completed, or 15 minutes passed) or "unknown"."""
        with self._shared.lock:
            for execution in self._executions.values():
                if execution.token == token:
                    fresh = time.monotonic() - execution.issued_at < TOKEN_SECONDS
                    return "valid" if execution.state == "running" and fresh else "revoked"
        return "unknown"

    # functions.completeSuccess / completeError (the caller holds the lock) -------------------

    def complete_success(self, args: dict[str, Any]) -> dict[str, Any]:
        execution = self._running(args)
        outputs = args.get("outputs")
        if not isinstance(outputs, dict):
            return self._refuse(execution, "invalid_arguments")
        spec = self.declared.get(execution.callback_id) or {}
        if parameter_problems(spec.get("output_parameters") or {}, outputs):
            return self._refuse(execution, "parameter_validation_failed")
        execution.state, execution.outputs = "completed", dict(outputs)
        execution.completions.append("ok")
        self._shared.notify()
        return {}

    def complete_error(self, args: dict[str, Any]) -> dict[str, Any]:
        execution = self._running(args)
        error = args.get("error")
        if not isinstance(error, str) or not error.strip():
            return self._refuse(execution, "invalid_arguments")
        execution.state, execution.error = "failed", error
        execution.completions.append("ok")
        self._shared.notify()
        return {}

    def _running(self, args: dict[str, Any]) -> Execution:
        execution = self._executions.get(str(args.get("function_execution_id") or ""))
        if execution is None:
            raise SlackError("function_execution_not_found")
        if execution.state != "running":
            execution.completions.append("execution_not_in_running_state")
            raise SlackError("execution_not_in_running_state")
        return execution

    @staticmethod
    def _refuse(execution: Execution, error: str) -> dict[str, Any]:
        execution.completions.append(error)
        raise SlackError(error)
