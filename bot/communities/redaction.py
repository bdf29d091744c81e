"""Keep e-mail addresses out of httpx's logs.

httpx logs every request URL at INFO, and member URLs carry the e-mail address. The
filter redacts any path segment that looks like an address. It changes logging for the
whole process, so nothing installs it at import: the entry point does
(`bot.__main__._configure_logging`), and so may a test or an embedding application.
"""

from __future__ import annotations

import logging
import re

import httpx

__all__ = ["RedactAddresses", "install_log_filter", "redact"]

_ADDRESS_SEGMENT = re.compile(r"[^/\s\"'?#]*(?:@|%40)[^/\s\"'?#]*", re.IGNORECASE)
REDACTED = "<redacted>"


class RedactAddresses(logging.Filter):
    """Replaces address-like path segments in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact(arg) for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = _ADDRESS_SEGMENT.sub(REDACTED, record.msg)
        return True


def redact(arg: object) -> object:
    """`arg` with address-like segments redacted when it is text or a URL, else as is."""
    if isinstance(arg, str | httpx.URL):
        return _ADDRESS_SEGMENT.sub(REDACTED, str(arg))
    return arg


def install_log_filter(logger_name: str = "httpx") -> RedactAddresses:
    """Add the filter to `logger_name` (once; a second call returns the same filter)."""
    target = logging.getLogger(logger_name)
    for existing in target.filters:
        if isinstance(existing, RedactAddresses):
            return existing
    installed = RedactAddresses()
    target.addFilter(installed)
    return installed
