"""Every Web API call the bot made, and the failures a test asked for."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.slack_standin.state.models import Call, SlackError
from bot.slack_standin.state.shared import Shared


@dataclass
class _Failure:
    error: str
    count: int
    status: int
    retry_after: int


class CallLog:
    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self.clear()

    def clear(self) -> None:
        with self._shared.lock:
            self._calls: list[Call] = []
            self._failures: dict[str, _Failure] = {}

    def record(self, method: str, args: Mapping[str, Any], error: str | None) -> None:
        with self._shared.lock:
            self._calls.append(Call(method, copy.deepcopy(dict(args)), error is None, error))
            self._shared.notify()

    @property
    def calls(self) -> list[Call]:
        with self._shared.lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._shared.lock:
            return [call for call in self._calls if call.method == method]

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        count: int = 1,
        status: int | None = None,
        retry_after: int = 1,
    ) -> None:
        """Make the next `count` calls of `method` fail. `ratelimited` answers HTTP 429 with
        Retry-After, as Slack does; other errors answer 200 with ok false unless `status`."""
        default_status = 429 if error == "ratelimited" else 200
        with self._shared.lock:
            self._failures[method] = _Failure(error, count, status or default_status, retry_after)

    def take_failure(self, method: str) -> SlackError | None:
        """The injected failure for this call, if one is pending."""
        with self._shared.lock:
            failure = self._failures.get(method)
            if failure is None:
                return None
            failure.count -= 1
            if failure.count <= 0:
                del self._failures[method]
            headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
            return SlackError(failure.error, status=failure.status, headers=headers)
