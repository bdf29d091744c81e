"""Fetching a file someone attached in a modal: GET its `url_private` with the bot token
(the `files:read` scope), within a size and a time limit.

The modal submission waits for this (Slack gives the whole answer 3 seconds), so it is
bounded twice: at most `max_bytes` are read (a bigger file is refused without reading
the rest) and the whole download, connection included, must finish within `seconds`.
"""

from __future__ import annotations

import time

import httpx

CHUNK = 64 * 1024


class DownloadFailed(Exception):
    """The file could not be fetched; the message is for the person who attached it."""


class FileTooBig(DownloadFailed):
    pass


def download(url: str, token: str, *, max_bytes: int, seconds: float) -> bytes:
    deadline = time.monotonic() + seconds
    timeout = httpx.Timeout(seconds, connect=min(seconds, 2.0))
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as reply,
        ):
            if reply.status_code != 200:
                raise DownloadFailed(
                    f"Slack did not hand me the file (HTTP {reply.status_code}); nothing was "
                    "filed. Is the app allowed to read files (files:read)? Try again."
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
            f"Slack took more than {seconds:g} s to hand me the file, so nothing was filed. "
            "Press Import again."
        ) from None
    except httpx.HTTPError as exc:
        raise DownloadFailed(
            f"Couldn't fetch the file from Slack ({type(exc).__name__}); nothing was filed. "
            "Press Import again."
        ) from None


def _too_big(max_bytes: int) -> str:
    size = (
        f"{max_bytes / (1024 * 1024):g} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes:,} bytes"
    )
    return (
        f"The file is bigger than {size}, the most one import takes. Split it into smaller files."
    )
