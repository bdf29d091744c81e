"""The once-per-request escalation marker (`escalated_at` on the request's hash).

The sweep asks bot.domain.community_policy.escalation_due, then claims the escalation here
before it posts: the claim sets `escalated_at` only if the request is still pending and
was never escalated, in one script on the request's one key, so however many workers
sweep at once, exactly one of them escalates a request.
"""

from __future__ import annotations

import redis

from bot.storage import keys

_CLAIM = """
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then
  return 0
end
local marked = redis.call('HGET', KEYS[1], 'escalated_at')
if marked and marked ~= '' and tonumber(marked) ~= 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'escalated_at', ARGV[1])
return 1
"""


class RedisEscalations:
    def __init__(self, client: redis.Redis) -> None:
        self._claim = client.register_script(_CLAIM)

    def claim(self, request_id: str, at: float) -> bool:
        """True for the one caller that escalates this request, at `at` (epoch seconds)."""
        return bool(self._claim(keys=[keys.request(request_id)], args=[repr(at)]))
