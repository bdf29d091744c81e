"""Delegations (/community away) in Redis: one hash, a field per absent approver.

Each delegation is one JSON value in one key (`keys.DELEGATIONS`), so setting, replacing or
ending one is a single command, atomic on any Redis (and within one hash slot on a
cluster). Approvers are few, so every decision reads the whole hash in one HGETALL.
Delegations past their last day are pruned on the next `set`; a pruned field is deleted
only if it still holds the stale value, so a delegation set at the same moment survives.
"""

from __future__ import annotations

from datetime import date

import redis

from bot.domain.delegation import Delegation
from bot.storage import keys

# Delete a field only if it still holds the value read (a newer delegation is kept).
_DELETE_IF_SAME = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


class RedisDelegationStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._delete_if_same = client.register_script(_DELETE_IF_SAME)

    def set(self, delegation: Delegation, *, today: date | None = None) -> None:
        """Store `delegation`, replacing the absent approver's previous one; `today` (in
        TIMEZONE) prunes delegations that ended before it."""
        self.redis.hset(keys.DELEGATIONS, delegation.absent_id, delegation.to_json())
        if today is not None:
            self.prune(today)

    def end(self, absent_id: str) -> Delegation | None:
        """`/community away off`: the delegation that was in place, or None."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hget(keys.DELEGATIONS, absent_id)
        pipe.hdel(keys.DELEGATIONS, absent_id)
        text, _ = pipe.execute()
        return Delegation.from_json(text) if text else None

    def get(self, absent_id: str) -> Delegation | None:
        text = self.redis.hget(keys.DELEGATIONS, absent_id)
        return Delegation.from_json(text) if text else None

    def all(self) -> list[Delegation]:
        stored: dict[str, str] = self.redis.hgetall(keys.DELEGATIONS)
        return [Delegation.from_json(text) for text in stored.values()]

    def prune(self, today: date) -> int:
        """Delete delegations whose last day is before `today`. Returns how many."""
        removed = 0
        stored: dict[str, str] = self.redis.hgetall(keys.DELEGATIONS)
        for absent_id, text in stored.items():
            if not Delegation.from_json(text).active_on(today):
                removed += int(
                    self._delete_if_same(keys=[keys.DELEGATIONS], args=[absent_id, text])
                )
        return removed
