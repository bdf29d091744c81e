"""Requests in Redis. Every state change is one Lua script: atomic across processes.

Key names are in bot.storage.keys; the rules that decide which change is allowed are in
bot.domain.approvals, and this module only makes each change atomic. Besides the request
hash and its indexes, each script keeps two promises:
- one open request per community and address (keys.open_request), released when the
  request reaches a final state, so one request never claims another's effect;
- retention: a request that reached a final state (or failed) expires after the retention,
  and `forget_before` trims the indexes and the audit trail to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from redis.lock import Lock

from bot.domain import audit
from bot.domain.clock import Clock
from bot.domain.ports import TransitionResult
from bot.domain.requests import MemberRequest, Status
from bot.storage import keys
from bot.storage.connection import confirmed, confirmed_or_logged
from bot.storage.keys import AUDIT_STREAM, PENDING, RECENT, SCHEDULED, WORK_STREAM

AUDIT_MAXLEN = 1_000_000
RECENT_KEEP = 500
FINAL = (Status.DONE, Status.REJECTED, Status.EXPIRED, Status.CANCELLED)


@dataclass(frozen=True)
class Change:
    """A state change this store just made, for metrics: never an ID, name or address.
    `before` is "" for a new request; a partial approval is pending -> pending."""

    operation: str  # add | remove
    before: str
    after: str
    action: str  # the audit entry's: filed, approved, execution_started, done, parked, due…


ChangeObserver = Callable[[Change], None]

# Shared Lua. KEYS: request, pending, recent, work stream, audit stream, scheduled.
# ARGV[1]: retention in seconds, ARGV[2]: audit maxlen.
_COMMON_LUA = f"""
local FINAL = {{{", ".join(f"['{s.value}'] = true" for s in FINAL)}}}
local function audit(entry, status)
  table.insert(entry, 'status'); table.insert(entry, status)
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[2], '*', unpack(entry))
end
local function index(id, status, now)
  redis.call('ZADD', KEYS[3], now, id)
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -{RECENT_KEEP + 1})
  if status == 'pending' then
    redis.call('ZADD', KEYS[2], redis.call('HGET', KEYS[1], 'created_at'), id)
  else
    redis.call('ZREM', KEYS[2], id)
  end
  if status == 'scheduled' then
    redis.call('ZADD', KEYS[6], redis.call('HGET', KEYS[1], 'due_at'), id)
  else
    redis.call('ZREM', KEYS[6], id)
  end
end
-- The hash (and its open-address claim) live for the retention once nothing more is due.
local function keep(id, status)
  local open = redis.call('HGET', KEYS[1], 'open_key')
  if FINAL[status] then
    if open and redis.call('GET', open) == id then redis.call('DEL', open) end
    redis.call('EXPIRE', KEYS[1], ARGV[1])
  elseif status == 'failed' then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    if open then redis.call('EXPIRE', open, ARGV[1]) end
  else
    redis.call('PERSIST', KEYS[1])
    if open then redis.call('PERSIST', open) end
  end
end
local function change(status, now)
  local id = redis.call('HGET', KEYS[1], 'id')
  redis.call('HSET', KEYS[1], 'status', status, 'updated_at', now)
  index(id, status, now)
  keep(id, status)
  return id
end
local function refusal(current)
  return {{'conflict', current}}
end
"""

# KEYS: + open-address claim, requester index. ARGV[3]: now, [4]: enqueue (0/1),
# [5]: JSON hash, [6]: JSON audit entry, [7]: prefix of request keys.
_CREATE = (
    _COMMON_LUA
    + """
local request = cjson.decode(ARGV[5])
local holder = redis.call('GET', KEYS[7])
if holder and holder ~= request['id'] then
  local status = redis.call('HGET', ARGV[7] .. holder, 'status')
  if status and not FINAL[status] then return {'open', holder} end
end
redis.call('SET', KEYS[7], request['id'])
local fields = {}
for k, v in pairs(request) do table.insert(fields, k); table.insert(fields, v) end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HSET', KEYS[1], 'open_key', KEYS[7])
redis.call('ZADD', KEYS[8], request['created_at'], request['id'])
index(request['id'], request['status'], request['created_at'])
keep(request['id'], request['status'])
if ARGV[4] == '1' then redis.call('XADD', KEYS[4], '*', 'request_id', request['id']) end
audit(cjson.decode(ARGV[6]), request['status'])
return {'ok'}
"""
)

# ARGV[3]: now, [4]: allowed from-statuses (comma list), [5]: new status, [6]: enqueue,
# [7]: JSON object of fields to set, [8]: JSON audit entry.
_TRANSITION = (
    _COMMON_LUA
    + """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {'missing'} end
local allowed = false
for s in string.gmatch(ARGV[4], '[^,]+') do
  if s == current then allowed = true end
end
if not allowed then return refusal(current) end
local updates = cjson.decode(ARGV[7])
for k, v in pairs(updates) do
  if k ~= '__incr_attempts' then redis.call('HSET', KEYS[1], k, v) end
end
if updates['__incr_attempts'] then redis.call('HINCRBY', KEYS[1], 'attempts', 1) end
local id = change(ARGV[5], ARGV[3])
if ARGV[6] == '1' then redis.call('XADD', KEYS[4], '*', 'request_id', id) end
audit(cjson.decode(ARGV[8]), ARGV[5])
return {'ok', current, redis.call('HGET', KEYS[1], 'attempts') or '0'}
"""
)

# ARGV[3]: now, [4]: approver, [5]: JSON audit entry for the approval,
# [6]: JSON audit entry for an expiry found at the click.
_APPROVE = (
    _COMMON_LUA
    + """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {'missing'} end
if current ~= 'pending' then return refusal(current) end
if tonumber(ARGV[3]) >= tonumber(redis.call('HGET', KEYS[1], 'expires_at')) then
  -- Past its lifetime: expired now, whether or not a sweep has run yet.
  redis.call('HSET', KEYS[1], 'decided_by', 'system', 'decided_at', ARGV[3])
  change('expired', ARGV[3])
  audit(cjson.decode(ARGV[6]), 'expired')
  return {'expired'}
end
if redis.call('HGET', KEYS[1], 'requester_id') == ARGV[4] then return {'own'} end
local approvals = cjson.decode(redis.call('HGET', KEYS[1], 'approvals') or '[]')
for _, a in ipairs(approvals) do
  if a['user_id'] == ARGV[4] then return {'duplicate'} end
end
table.insert(approvals, {user_id = ARGV[4], at = tonumber(ARGV[3])})
redis.call('HSET', KEYS[1], 'approvals', cjson.encode(approvals))
local required = tonumber(redis.call('HGET', KEYS[1], 'approvals_required'))
if #approvals < required then
  change('pending', ARGV[3])
  audit(cjson.decode(ARGV[5]), 'pending')
  return {'partial'}
end
local names = {}
for _, a in ipairs(approvals) do table.insert(names, a['user_id']) end
redis.call('HSET', KEYS[1], 'decided_by', table.concat(names, ','), 'decided_at', ARGV[3],
           'rounds', 1)
if tonumber(redis.call('HGET', KEYS[1], 'due_at') or '0') > tonumber(ARGV[3]) then
  change('scheduled', ARGV[3])  -- approved now, carried out when due (release_due)
  audit(cjson.decode(ARGV[5]), 'scheduled')
  return {'scheduled'}
end
local id = change('approved', ARGV[3])
redis.call('XADD', KEYS[4], '*', 'request_id', id)
audit(cjson.decode(ARGV[5]), 'approved')
return {'approved'}
"""
)

# Work that keeps failing before it reaches the API: ARGV[3]: now, [4]: outcome,
# [5]: JSON audit entry.
_PARK = (
    _COMMON_LUA
    + """
local current = redis.call('HGET', KEYS[1], 'status')
if current ~= 'approved' and current ~= 'executing' then return {'conflict', current or ''} end
redis.call('HSET', KEYS[1], 'outcome', ARGV[4])
change('failed', ARGV[3])
audit(cjson.decode(ARGV[5]), 'failed')
return {'ok', current}
"""
)

# Dated requests that are due move to the work stream, each exactly once, whichever worker
# runs this first (and however late: a change due while every worker was down runs as
# soon as one is back). KEYS: scheduled, work stream, audit stream, recent.
# ARGV: now, limit, request key prefix, audit maxlen, now as ISO text.
# Returns id, operation, id, operation, ...
_RELEASE_DUE = """
local moved = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[3] .. id
  local r = redis.call('HMGET', key, 'status', 'due_at', 'operation', 'community_id', 'email',
                       'credit')
  if r[1] == 'scheduled' then
    local late = math.max(0, tonumber(ARGV[1]) - tonumber(r[2]))
    redis.call('HSET', key, 'status', 'approved', 'updated_at', ARGV[1],
               'ran_late', tostring(late))
    redis.call('ZADD', KEYS[4], ARGV[1], id)
    redis.call('XADD', KEYS[2], '*', 'request_id', id)
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'at', ARGV[5], 'request_id', id,
               'action', 'due', 'actor', 'system', 'operation', r[3], 'community_id', r[4],
               'email', r[5], 'credit', r[6], 'correlation_id', '',
               'detail', string.format('late by %d s', late), 'status', 'approved')
    table.insert(moved, id)
    table.insert(moved, r[3] or '')
  end
end
return moved
"""


def request_keys(request_id: str) -> list[str]:
    """KEYS of the transition, approve and park scripts (and the first six of create's)."""
    return [keys.request(request_id), PENDING, RECENT, WORK_STREAM, AUDIT_STREAM, SCHEDULED]


def create_keys(request_id: str, community_id: str, mailbox: str, requester_id: str) -> list[str]:
    return [
        *request_keys(request_id),
        keys.open_request(community_id, mailbox),
        keys.by_requester(requester_id),
    ]


RELEASE_DUE_KEYS = [SCHEDULED, WORK_STREAM, AUDIT_STREAM, RECENT]


class RedisRequestStore:
    """The domain's RequestStore (bot.domain.ports) on Redis. `on_change` is told of every
    state change this store made (bot.runtime.metrics counts them)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Clock,
        retention_seconds: float = 365 * 86400,
        on_change: ChangeObserver | None = None,
    ) -> None:
        self.redis = client
        self.on_change = on_change
        self.clock = clock
        self.retention_seconds = max(1, int(retention_seconds))
        self._create = client.register_script(_CREATE)
        self._transition = client.register_script(_TRANSITION)
        self._approve = client.register_script(_APPROVE)
        self._park = client.register_script(_PARK)
        self._release_due = client.register_script(_RELEASE_DUE)

    def _args(self, now: float, *args: object) -> list[object]:
        return [self.retention_seconds, AUDIT_MAXLEN, repr(now), *args]

    def _changed(self, entry: list[str] | dict[str, str], before: str, after: str) -> None:
        if self.on_change is not None:
            fields = entry if isinstance(entry, dict) else _fields(entry)
            self.on_change(
                Change(fields.get("operation", ""), before, after, fields.get("action", ""))
            )

    @staticmethod
    def _stamped(entry: list[str], now: float) -> str:
        at = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        return json.dumps(["at", at, *entry])

    def create(
        self, request: MemberRequest, audit_entry: list[str], *, enqueue: bool = False
    ) -> str | None:
        """Store a new request, index it and write its first audit entry, atomically.
        Returns the ID of an open request for the same community and address instead, if
        there is one (and stores nothing)."""
        reply = self._create(
            keys=create_keys(
                request.id, request.community_id, request.mailbox, request.requester_id
            ),
            args=self._args(
                now := self.clock.now(),
                "1" if enqueue else "0",
                json.dumps(request.to_hash()),
                self._stamped(audit_entry, now),
                keys.request(""),
            ),
        )
        if reply[0] == "open":
            return str(reply[1])
        self._changed(audit_entry, "", request.status.value)
        return None

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
        args = self._args(
            now := self.clock.now(),
            ",".join(sorted(allowed)),
            to.value,
            "1" if enqueue else "0",
            json.dumps(fields),
            self._stamped(audit_entry, now),
        )
        if count_attempt:
            # The write that records an attempt at Coolblue: a replica must hold it before
            # Coolblue is called, or a failover could forget it and the next worker would
            # create without checking first (NotReplicated: the entry is retried later).
            reply = confirmed(self.redis, self._transition, request_keys(request_id), args)
        else:
            reply = self._transition(keys=request_keys(request_id), args=args)
        if reply[0] == "ok":
            self._changed(audit_entry, str(reply[1]), to.value)
        return _result(reply)

    def approve(
        self, request_id: str, approver_id: str, audit_entry: list[str], expiry_entry: list[str]
    ) -> TransitionResult:
        args = self._args(
            now := self.clock.now(),
            approver_id,
            self._stamped(audit_entry, now),
            self._stamped(expiry_entry, now),
        )
        reply = confirmed_or_logged(self.redis, self._approve, request_keys(request_id), args)
        reached = _APPROVE_REACHES.get(str(reply[0]))
        if reached is not None:
            entry = expiry_entry if reached == Status.EXPIRED else audit_entry
            self._changed(entry, Status.PENDING.value, reached)
        return _result(reply)

    def park(self, request_id: str, outcome: str, actor: str) -> bool:
        """Mark approved work that keeps failing before any API call as failed. Works on the
        raw hash: the reason it keeps failing may be that it cannot be read."""
        raw = self.redis.hgetall(keys.request(request_id))
        if not raw:
            return False
        entry = audit.fields(
            request_id=request_id,
            action="parked",
            actor=actor,
            operation=raw.get("operation", ""),
            community_id=raw.get("community_id", ""),
            email=raw.get("email", ""),
            credit=raw.get("credit", ""),
            correlation_id=raw.get("correlation_id", ""),
            detail=outcome,
        )
        now = self.clock.now()
        reply = self._park(
            keys=request_keys(request_id), args=self._args(now, outcome, self._stamped(entry, now))
        )
        if reply[0] != "ok":
            return False
        self._changed(entry, str(reply[1]), Status.FAILED.value)
        return True

    def release_due(self, limit: int = 100) -> list[str]:
        """Move dated requests that are due to the work stream; their IDs."""
        now = self.clock.now()
        at = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        moved = self._release_due(
            keys=RELEASE_DUE_KEYS,
            args=[repr(now), limit, keys.request(""), AUDIT_MAXLEN, at],
        )
        for operation in moved[1::2]:
            due = {"operation": str(operation), "action": "due"}
            self._changed(due, Status.SCHEDULED.value, Status.APPROVED.value)
        return [str(request_id) for request_id in moved[::2]]

    def scheduled_ids(self, due_before: float | None = None, limit: int = 50) -> list[str]:
        """Dated requests waiting to run, soonest first."""
        top = "+inf" if due_before is None else repr(due_before)
        return list(self.redis.zrangebyscore(SCHEDULED, "-inf", top, start=0, num=limit))

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

    def forget_before(self, cutoff: float) -> None:
        """Trim the indexes and the audit trail to the retention (the request hashes expire
        by themselves): nothing older than `cutoff` stays."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zremrangebyscore(RECENT, "-inf", f"({cutoff}")
        for key in self.redis.scan_iter(match=keys.by_requester("*"), count=500):
            pipe.zremrangebyscore(key, "-inf", f"({cutoff}")
        pipe.xtrim(AUDIT_STREAM, minid=f"{int(cutoff * 1000)}-0", approximate=False)
        pipe.execute()


# What an approval's outcome left the request in (pending: one of several approvals).
_APPROVE_REACHES = {
    "approved": Status.APPROVED.value,
    "scheduled": Status.SCHEDULED.value,
    "partial": Status.PENDING.value,
    "expired": Status.EXPIRED.value,
}


def _fields(audit_entry: list[str]) -> dict[str, str]:
    """A flat field/value audit entry (bot.domain.audit.entry) as a dict."""
    return dict(zip(audit_entry[::2], audit_entry[1::2], strict=False))


def _result(reply: list[Any]) -> TransitionResult:
    outcome = str(reply[0])
    if outcome in {"approved", "scheduled", "partial"}:
        return TransitionResult(True, outcome)
    if outcome == "ok":
        return TransitionResult(True, outcome, attempts=int(reply[2]))
    return TransitionResult(False, outcome)
