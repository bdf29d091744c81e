"""Requests in Redis. Every state change is one Lua script: atomic across processes.

Key names are in bot.storage.keys; the rules that decide which change is allowed are in
bot.domain.approvals, and this module only makes each change atomic.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import redis
from redis.lock import Lock

from bot.domain.ports import TransitionResult
from bot.domain.requests import MemberRequest, Status
from bot.storage import keys
from bot.storage.keys import AUDIT_STREAM, PENDING, RECENT, WORK_STREAM

AUDIT_MAXLEN = 1_000_000
RECENT_KEEP = 500


# Shared Lua: write an audit entry from a flat list of field/value pairs.
_AUDIT_LUA = f"""
local function audit(stream, maxlen, entry)
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(entry))
end
local function index(key, id, status, now)
  redis.call('ZADD', KEYS[3], now, id)
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -{RECENT_KEEP + 1})
  if status == 'pending' then
    redis.call('ZADD', KEYS[2], redis.call('HGET', key, 'created_at'), id)
  else
    redis.call('ZREM', KEYS[2], id)
  end
end
"""

# KEYS: request, pending, recent, work stream, audit stream
# ARGV: allowed from-statuses (comma list), new status, now, enqueue (0/1),
#       JSON object of fields to set, JSON array of audit field/value pairs, audit maxlen
_TRANSITION = (
    _AUDIT_LUA
    + """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {'missing'} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == current then allowed = true end
end
if not allowed then
  return {'conflict', current, redis.call('HGET', KEYS[1], 'decided_by'),
          redis.call('HGET', KEYS[1], 'decided_at')}
end
local updates = cjson.decode(ARGV[5])
for k, v in pairs(updates) do
  if k ~= '__incr_attempts' then redis.call('HSET', KEYS[1], k, v) end
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updated_at', ARGV[3])
if updates['__incr_attempts'] then redis.call('HINCRBY', KEYS[1], 'attempts', 1) end
local id = redis.call('HGET', KEYS[1], 'id')
index(KEYS[1], id, ARGV[2], ARGV[3])
if ARGV[4] == '1' then redis.call('XADD', KEYS[4], '*', 'request_id', id) end
local entry = cjson.decode(ARGV[6])
table.insert(entry, 'status'); table.insert(entry, ARGV[2])
audit(KEYS[5], ARGV[7], entry)
return {'ok', current, redis.call('HGET', KEYS[1], 'attempts') or '0'}
"""
)

# KEYS: request, pending, recent, work stream, audit stream
# ARGV: approver, now, audit maxlen, JSON array of audit field/value pairs
_APPROVE = (
    _AUDIT_LUA
    + """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {'missing'} end
if current ~= 'pending' then
  return {'conflict', current, redis.call('HGET', KEYS[1], 'decided_by'),
          redis.call('HGET', KEYS[1], 'decided_at')}
end
if redis.call('HGET', KEYS[1], 'requester_id') == ARGV[1] then return {'own'} end
local approvals = cjson.decode(redis.call('HGET', KEYS[1], 'approvals') or '[]')
for _, a in ipairs(approvals) do
  if a['user_id'] == ARGV[1] then return {'duplicate'} end
end
table.insert(approvals, {user_id = ARGV[1], at = tonumber(ARGV[2])})
redis.call('HSET', KEYS[1], 'approvals', cjson.encode(approvals), 'updated_at', ARGV[2])
local required = tonumber(redis.call('HGET', KEYS[1], 'approvals_required'))
local id = redis.call('HGET', KEYS[1], 'id')
local entry = cjson.decode(ARGV[4])
if #approvals >= required then
  local names = {}
  for _, a in ipairs(approvals) do table.insert(names, a['user_id']) end
  redis.call('HSET', KEYS[1], 'status', 'approved', 'decided_by', table.concat(names, ','),
             'decided_at', ARGV[2], 'rounds', 1)
  index(KEYS[1], id, 'approved', ARGV[2])
  redis.call('XADD', KEYS[4], '*', 'request_id', id)
  table.insert(entry, 'status'); table.insert(entry, 'approved')
  audit(KEYS[5], ARGV[3], entry)
  return {'approved', tostring(#approvals), tostring(required)}
end
index(KEYS[1], id, 'pending', ARGV[2])
table.insert(entry, 'status'); table.insert(entry, 'pending')
audit(KEYS[5], ARGV[3], entry)
return {'partial', tostring(#approvals), tostring(required)}
"""
)


class RedisRequestStore:
    """The domain's RequestStore (bot.domain.ports) on Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._transition = client.register_script(_TRANSITION)
        self._approve = client.register_script(_APPROVE)

    def _keys(self, request_id: str) -> list[str]:
        return [keys.request(request_id), PENDING, RECENT, WORK_STREAM, AUDIT_STREAM]

    def create(
        self, request: MemberRequest, audit_entry: list[str], *, enqueue: bool = False
    ) -> None:
        """Store a new request, index it and write its first audit entry, in one round trip."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(keys.request(request.id), mapping=request.to_hash())
        if request.status is Status.PENDING:
            pipe.zadd(PENDING, {request.id: request.created_at})
        pipe.zadd(RECENT, {request.id: request.created_at})
        pipe.zadd(keys.by_requester(request.requester_id), {request.id: request.created_at})
        if enqueue:
            pipe.xadd(WORK_STREAM, {"request_id": request.id})
        pipe.xadd(
            AUDIT_STREAM,
            dict(zip(audit_entry[::2], audit_entry[1::2], strict=True)),
            maxlen=AUDIT_MAXLEN,
            approximate=True,
        )
        pipe.execute()

    def get(self, request_id: str) -> MemberRequest | None:
        data = self.redis.hgetall(keys.request(request_id))
        return MemberRequest.from_hash(data) if data else None

    def get_many(self, request_ids: Sequence[str]) -> list[MemberRequest]:
        if not request_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for request_id in request_ids:
            pipe.hgetall(keys.request(request_id))
        return [MemberRequest.from_hash(data) for data in pipe.execute() if data]

    def set_fields(self, request_id: str, **values: str) -> None:
        self.redis.hset(keys.request(request_id), mapping=values)

    def transition(
        self,
        request_id: str,
        *,
        allowed: set[Status],
        to: Status,
        audit_entry: list[str],
        updates: dict[str, str] | None = None,
        enqueue: bool = False,
        count_attempt: bool = False,
    ) -> TransitionResult:
        fields = dict(updates or {})
        if count_attempt:
            fields["__incr_attempts"] = "1"
        reply = self._transition(
            keys=self._keys(request_id),
            args=[
                ",".join(sorted(allowed)),
                to.value,
                repr(time.time()),
                "1" if enqueue else "0",
                json.dumps(fields),
                json.dumps(audit_entry),
                AUDIT_MAXLEN,
            ],
        )
        return _result(reply)

    def approve(
        self, request_id: str, approver_id: str, audit_entry: list[str]
    ) -> TransitionResult:
        reply = self._approve(
            keys=self._keys(request_id),
            args=[approver_id, repr(time.time()), AUDIT_MAXLEN, json.dumps(audit_entry)],
        )
        return _result(reply)

    def mark_round_announced(self, request_id: str, round_number: int) -> None:
        self.redis.hset(keys.request(request_id), "announced_round", str(round_number))

    def round_announced(self, request_id: str) -> bool:
        """Were people told about this round's approval (or Retry) yet?"""
        rounds, announced = self.redis.hmget(keys.request(request_id), "rounds", "announced_round")
        return int(announced or 0) >= int(rounds or 0)

    def notification_lock(self, request_id: str) -> Lock:
        # Held only for a couple of Slack calls; the timeout frees it if a process dies.
        return self.redis.lock(keys.notify_lock(request_id), timeout=15, blocking_timeout=20)

    def pending_ids(self, limit: int = 50) -> list[str]:
        return list(self.redis.zrange(PENDING, 0, limit - 1))

    def pending_created_before(self, cutoff: float) -> list[str]:
        return list(self.redis.zrangebyscore(PENDING, "-inf", cutoff))

    def recent_ids(self, limit: int = 20) -> list[str]:
        return list(self.redis.zrevrange(RECENT, 0, limit - 1))

    def ids_of_requester(self, user_id: str, limit: int = 20) -> list[str]:
        return list(self.redis.zrevrange(keys.by_requester(user_id), 0, limit - 1))


def _result(reply: list[Any]) -> TransitionResult:
    outcome = str(reply[0])
    if outcome in {"approved", "partial"}:
        return TransitionResult(True, outcome)
    if outcome == "ok":
        return TransitionResult(True, outcome, attempts=int(reply[2]))
    return TransitionResult(False, outcome)
