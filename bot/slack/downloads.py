"""Fetching a file someone attached in a modal: GET its `url_private` with the bot token
(the `files:read` scope), within a size and a time limit.

The link comes in the submission's file object, so it is checked before anything is sent:
the bot token goes only to Slack's file host, https://files.slack.com (`FileHosts`), and to
the base URLs SLACK_EXTRA_FILE_URLS names (the local Slack stand-in's; none by default). Any
other link is refused without a connection; redirects are never followed.

The modal submission waits for this (Slack gives the whole answer 3 seconds), so it is
bounded twice: at most `max_bytes` are read (a bigger file is refused without reading
the rest) and the whole download, connection included, must finish within `seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

from bot import i18n
from bot.i18n import t

CHUNK = 64 * 1024
SLACK_FILE_HOST = "https://files.slack.com/"


class DownloadFailed(Exception):
    """The file could not be fetched; the message is for the person who attached it."""


class FileTooBig(DownloadFailed):
    pass


class FileHosts:
    """Where attached files may be fetched with the bot token: https://files.slack.com, and
    the `extra` base URLs (scheme, host, port and path prefix must all match)."""

    def __init__(self, extra: Sequence[str] = ()) -> None:
        self.bases = [SLACK_FILE_HOST, *extra]

    def allows(self, url: str) -> bool:
        try:
            link = urlsplit(url)
            port = link.port
        except ValueError:
            return False
        if link.username is not None or link.password is not None:
            return False
        return any(_within(link.scheme, link.hostname, port, link.path, b) for b in self.bases)


def _within(scheme: str, host: str | None, port: int | None, path: str, base: str) -> bool:
    allowed = urlsplit(base)
    default = {"https": 443, "http": 80}.get(scheme)
    return (
        scheme == allowed.scheme
        and host is not None
        and host == allowed.hostname
        and (port or default) == (allowed.port or default)
        and path.startswith(allowed.path or "/")
    )


def download(
    url: str, token: str, *, max_bytes: int, seconds: float, hosts: FileHosts | None = None
) -> bytes:
    """The file's bytes; raises DownloadFailed (before any request) for a link `hosts`
    (by default: only https://files.slack.com) does not allow."""
    if not (hosts or FileHosts()).allows(url):
        raise DownloadFailed(
            t(
                "The file's link does not point at Slack's file host (https://files.slack.com), "
                "so I did not fetch it; nothing was filed. Attach the file again from Slack."
            )
        )
    deadline = time.monotonic() + seconds
    timeout = httpx.Timeout(seconds, connect=min(seconds, 2.0))
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as reply,
        ):
            if reply.status_code != 200:
                raise DownloadFailed(
                    t(
                        "Slack did not hand me the file (HTTP {status}); nothing was "
                        "filed. Is the app allowed to read files (files:read)? Try again.",
                        status=reply.status_code,
                    )
                )
            data = bytearray()
            for chunk in reply.iter_bytes(CHUNK):
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise FileTooBig(_too_big(max_bytes))
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("download took too long")
            return bytes(data)
    except httpx.TimeoutException:
        raise DownloadFailed(
            t(
                "Slack took more than {seconds} s to hand me the file, so nothing was filed. "
                "Press Import again.",
                seconds=_number(seconds),
            )
        ) from None
    except httpx.HTTPError as exc:
        raise DownloadFailed(
            t(
                "Couldn't fetch the file from Slack ({kind}); nothing was filed. "
                "Press Import again.",
                kind=type(exc).__name__,
            )
        ) from None


def _too_big(max_bytes: int) -> str:
    if max_bytes >= 1024 * 1024:
        return t(
            "The file is bigger than {size} MB, the most one import takes. "
            "Split it into smaller files.",
            size=_number(max_bytes / (1024 * 1024)),
        )
    return t(
        "The file is bigger than {size} bytes, the most one import takes. "
        "Split it into smaller files.",
        size=_number(max_bytes),
    )


def _number(value: float) -> str:
    """A number as the reader writes it: `1,048,576` and `2.5` / `1.048.576` and `2,5`."""
    written = f"{value:g}" if isinstance(value, float) else f"{value:,}"
    if i18n.current() == "en":
        return written
    return written.translate(str.maketrans(",.", ".,"))
