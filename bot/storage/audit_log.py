"""The audit trail in a Redis Stream: append-only, ordered, trimmed (see keys.AUDIT_STREAM).
Entries are written by the request store's Lua scripts, in the same step as the change."""

from __future__ import annotations

from collections.abc import Iterator

import redis

from bot.storage.keys import AUDIT_STREAM

PAGE = 500


class RedisAuditLog:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def entries(self, request_id: str | None = None) -> Iterator[dict[str, str]]:
        """Oldest first, read a page at a time."""
        start = "-"
        while True:
            page = self.redis.xrange(AUDIT_STREAM, min=start, count=PAGE)
            for _entry_id, fields in page:
                if request_id is None or fields.get("request_id") == request_id:
                    yield fields
            if len(page) < PAGE:
                return
            start = "(" + page[-1][0]
