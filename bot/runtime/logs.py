"""How log lines look: readable text (the default), or LOG_FORMAT=json, one JSON object per
line for a log platform: time, level, logger, message, and `request_id` and
`correlation_id` when known (an exception's traceback as `exception`).

The IDs come from the record (`extra={"correlation_id": …}` where they are logged, as
bot.communities does for every API call) or else from the context: the worker runs each
request inside `log_context(request_id=…)`, so every line logged meanwhile, in any module,
carries it. Only the format changes here; what is logged does not. The redaction filter
(bot.communities.install_log_filter) still takes addresses out of httpx's lines first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

__all__ = ["TEXT_FORMAT", "JsonFormatter", "Outage", "configure", "log_context"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_request_id: ContextVar[str | None] = ContextVar("log_request_id", default=None)
_correlation_id: ContextVar[str | None] = ContextVar("log_correlation_id", default=None)


@contextlib.contextmanager
def log_context(
    *, request_id: str | None = None, correlation_id: str | None = None
) -> Iterator[None]:
    """Lines logged inside (in this thread, or this context) carry these IDs."""
    tokens = []
    if request_id is not None:
        tokens.append((_request_id, _request_id.set(request_id)))
    if correlation_id is not None:
        tokens.append((_correlation_id, _correlation_id.set(correlation_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in a message are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or _request_id.get()
        correlation_id = getattr(record, "correlation_id", None) or _correlation_id.get()
        if request_id:
            line["request_id"] = str(request_id)
        if correlation_id:
            line["correlation_id"] = str(correlation_id)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str, log_format: str = "text") -> None:
    """The root logger's one handler, on stderr. With json, Python's warnings are logged
    too, so that nothing else writes to stderr in another shape."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
        logging.captureWarnings(True)
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])


class Outage:
    """An outage of a dependency, logged as one warning when it starts and one line when it
    ends, however many threads and retries meet it meanwhile (not a line per retry).
    `failing` on every error, `ok` on every success; both are cheap and thread-safe."""

    def __init__(self, logger: logging.Logger, who: str, what: str = "Redis") -> None:
        self.logger = logger
        self.who = who
        self.what = what
        self._since: float | None = None
        self._lock = threading.Lock()

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failing(self, exc: BaseException) -> None:
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
        self.logger.warning("%s: %s failing (%s); backing off", self.who, self.what,
                            type(exc).__name__)  # fmt: skip

    def ok(self) -> None:
        if self._since is None:  # the usual case: no lock taken
            return
        with self._lock:
            since, self._since = self._since, None
        if since is not None:
            self.logger.warning("%s: %s back after %.1f s", self.who, self.what,
                                time.monotonic() - since)  # fmt: skip
