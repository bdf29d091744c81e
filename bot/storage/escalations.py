"""The once-per-request escalation marker (`escalated_at` on the request's hash).

The sweep asks bot.domain.community_policy.escalation_due, then claims the escalation here
before it posts: the claim sets `escalated_at` only if the request is still pending and
was never escalated, in one script on the request's one key, so however many workers
sweep at once, exactly one of them escalates a request.
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from bot.storage import keys
from bot.storage.requests import AUDIT_MAXLEN

_CLAIM = """
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then
  return 0
end
local marked = redis.call('HGET', KEYS[1], 'escalated_at')
if marked and marked ~= '' and tonumber(marked) ~= 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'escalated_at', ARGV[1])
if #ARGV > 3 then
  local entry = {}
  for i = 4, #ARGV do table.insert(entry, ARGV[i]) end
  table.insert(entry, 'at'); table.insert(entry, ARGV[3])
  table.insert(entry, 'status'); table.insert(entry, 'pending')
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(entry))
end
return 1
"""


class RedisEscalations:
    def __init__(self, client: redis.Redis) -> None:
        self._claim = client.register_script(_CLAIM)

    def claim(self, request_id: str, at: float, audit_entry: list[str] | None = None) -> bool:
        """True for the one caller that escalates this request, at `at` (epoch seconds).
        `audit_entry` (bot.domain.audit.entry) joins the audit trail in the same step, so
        the trail records each escalation once too (the request and the trail share the
        ledger's hash slot)."""
        when = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
        return bool(
            self._claim(
                keys=[keys.request(request_id), keys.AUDIT_STREAM],
                args=[repr(at), AUDIT_MAXLEN, when, *(audit_entry or [])],
            )
        )
