"""Imports in Redis: the import, its rows, the row work stream, the global slots and the
shared 429 pause. Every change is one Lua script, atomic across processes.

Key names are in bot.storage.keys; the rules are in bot.domain.bulk. Each valid row is a
request hash of its own (`keys.request(row_id)`, a MemberRequest) that takes the
open-request claim of its address (`keys.open_request`) exactly as a single request does:
a single request for that address is refused while the row is open (its Lua reads the
holder's status), and a row whose address another request holds is refused at filing.
The claim goes when the row reaches its outcome (done, failed, stopped, rejected, expired).

Rows to carry out are entries of their own stream (keys.IMPORT_WORK_STREAM, group
`import-workers`), so a 5,000-row import never sits in front of the single requests'
stream. At most `limit` rows run at once across every process: a slot is a member of
keys.IMPORT_INFLIGHT scored by its lease deadline (a dead process's slots lapse), and
a freed slot wakes one waiting runner through keys.IMPORT_SLOT_FREED. keys.IMPORT_PAUSE,
set when Coolblue answers 429 with Retry-After, holds every runner's rows until it expires.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis

from bot.domain.bulk import (
    STOPPED_OUTCOME,
    STOPPED_WAITING,
    UNKNOWN_OUTCOME,
    Filed,
    ImportRequest,
    RowOutcome,
    RowRecord,
    RowResult,
    RowToFile,
    open_elsewhere,
    row_id,
)
from bot.domain.imports import InvalidRow
from bot.domain.requests import MemberRequest
from bot.storage import keys
from bot.storage.connection import confirmed, confirmed_or_logged
from bot.storage.keys import (
    AUDIT_STREAM,
    IMPORT_ACTIVE,
    IMPORT_CLOSED,
    IMPORT_FORGET_SCANNED,
    IMPORT_INFLIGHT,
    IMPORT_PAUSE,
    IMPORT_PENDING,
    IMPORT_SLOT_FREED,
    IMPORT_SWEEP_LOCK,
    IMPORT_WORK_GROUP,
    IMPORT_WORK_STREAM,
)

AUDIT_MAXLEN = 1_000_000
REQUEST_PREFIX = keys.request("")
SLOT_WAKEUPS_KEPT = 64
FINAL = ("done", "rejected", "expired", "cancelled")  # a single request's final states

_COMMON = f"""
local FINAL = {{{", ".join(f"['{s}'] = true" for s in FINAL)}}}
local function audit(entry, status, maxlen)
  table.insert(entry, 'status'); table.insert(entry, status)
  redis.call('XADD', '{AUDIT_STREAM}', 'MAXLEN', '~', maxlen, '*', unpack(entry))
end
local function release(key, id)
  local open = redis.call('HGET', key, 'open_key')
  if open and redis.call('GET', open) == id then redis.call('DEL', open) end
end
-- Rows of the import not started yet (or waiting after a 429) get `status` (a final one),
-- an outcome and an audit entry each; their claims go. With `unknown` (Stop's words), a
-- waiting row whose earlier call may have been applied (ambiguous) is never "not carried
-- out": it fails as 'outcome unknown'; one that only met a 429 gets `waiting`'s words.
-- Returns how many rows got `status`, and how many 'outcome unknown'.
local function settle_unstarted(import_key, rows_key, status, result, outcome, action,
                                actor, now, at, retention, maxlen, unknown, waiting)
  local import_id = redis.call('HGET', import_key, 'id')
  local count, unknowns = 0, 0
  for _, n in ipairs(redis.call('LRANGE', rows_key, 0, -1)) do
    local id = import_id .. '-' .. n
    local key = '{REQUEST_PREFIX}' .. id
    local current = redis.call('HGET', key, 'status')
    if current == 'pending' or current == 'approved' then
      local s, r, o, a = status, result, outcome, action
      if unknown and current == 'approved' and redis.call('HGET', key, 'ambiguous') == '1' then
        s, r, o, a = 'failed', 'outcome unknown', unknown, 'import_unknown'
        unknowns = unknowns + 1
      else
        if waiting and current == 'approved'
           and tonumber(redis.call('HGET', key, 'attempts') or '0') > 0 then
          o = waiting
        end
        count = count + 1
      end
      redis.call('HSET', key, 'status', s, 'result', r, 'outcome', o, 'updated_at', now)
      release(key, id)
      redis.call('EXPIRE', key, retention)
      local row = redis.call('HMGET', key, 'operation', 'community_id', 'email', 'credit')
      audit({{'at', at, 'request_id', id, 'action', a, 'actor', actor,
             'operation', row[1] or '', 'community_id', row[2] or '', 'email', row[3] or '',
             'credit', row[4] or '', 'correlation_id', '', 'detail', o}},
            s, maxlen)
    end
  end
  return count, unknowns
end
local function changed(import_key, now)
  redis.call('HINCRBY', import_key, 'version', 1)
  redis.call('HSET', import_key, 'updated_at', now)
end
-- An import that reached its end is forgotten RETENTION_DAYS later (RedisImportStore.forget).
local function closed(closed_key, import_key, now)
  redis.call('ZADD', closed_key, now, redis.call('HGET', import_key, 'id'))
end
local function finish_if_done(import_key, now, closed_key)
  local c = redis.call('HMGET', import_key, 'total', 'done', 'skipped', 'failed',
                       'stopped_rows', 'finished_at', 'status', 'unknown')
  local sum = tonumber(c[2] or 0) + tonumber(c[3] or 0) + tonumber(c[4] or 0)
              + tonumber(c[5] or 0) + tonumber(c[8] or 0)
  if sum < tonumber(c[1] or 0) or tonumber(c[6] or 0) > 0 then return false end
  redis.call('HSET', import_key, 'finished_at', now)
  closed(closed_key, import_key, now)
  if c[7] == 'approved' or c[7] == 'executing' then
    redis.call('HSET', import_key, 'status', 'done')
  end
  return true
end
"""

# KEYS: import, rows, people, invalid, refused, pending, active, work stream.
# ARGV: [1] import hash (JSON), [2] rows [{n, id, open, cents, hash}], [3] people,
# [4] invalid rows (stored as given), [5] audit entries [{entry, status}], [6] now,
# [7] audit maxlen, [8] ISO time, [9] actor.
_FILE = (
    _COMMON
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
local imp = cjson.decode(ARGV[1])
local rows = cjson.decode(ARGV[2])
local accepted, refused = {}, {}
local cents = 0
for _, row in ipairs(rows) do
  local holder = redis.call('GET', row['open'])
  local status = nil
  if holder and holder ~= row['id'] then
    status = redis.call('HGET', '"""
    + REQUEST_PREFIX
    + """' .. holder, 'status')
  end
  if status and not FINAL[status] then
    table.insert(refused, {row['n'], holder, status, row['hash']['email']})
  else
    table.insert(accepted, row)
    cents = cents + row['cents']
  end
end
if #accepted == 0 then return {'empty', cjson.encode(refused)} end
local running = imp['status'] ~= 'pending'
for _, row in ipairs(accepted) do
  local key = '"""
    + REQUEST_PREFIX
    + """' .. row['id']
  redis.call('SET', row['open'], row['id'])
  local fields = {'open_key', row['open']}
  for k, v in pairs(row['hash']) do table.insert(fields, k); table.insert(fields, v) end
  redis.call('HSET', key, unpack(fields))
  if running then redis.call('HSET', key, 'status', 'approved') end
  redis.call('RPUSH', KEYS[2], row['n'])
end
for _, r in ipairs(refused) do
  redis.call('HSET', KEYS[5], r[1], cjson.encode({r[2], r[3], r[4]}))
end
imp['total'] = tostring(#accepted)
imp['total_cents'] = tostring(cents)
imp['invalid_count'] = tostring(tonumber(imp['invalid_count']) + #refused)
local fields = {}
for k, v in pairs(imp) do table.insert(fields, k); table.insert(fields, v) end
redis.call('HSET', KEYS[1], unpack(fields))
for _, person in ipairs(cjson.decode(ARGV[3])) do redis.call('SADD', KEYS[3], person) end
redis.call('SET', KEYS[4], ARGV[4])
if running then
  redis.call('HSET', KEYS[1], 'version', 1)
  redis.call('ZADD', KEYS[7], ARGV[6], imp['id'])
  for _, row in ipairs(accepted) do
    redis.call('XADD', KEYS[8], '*', 'import_id', imp['id'], 'row', row['n'])
  end
else
  redis.call('ZADD', KEYS[6], imp['expires_at'], imp['id'])
end
for _, item in ipairs(cjson.decode(ARGV[5])) do audit(item['entry'], item['status'], ARGV[7]) end
for _, r in ipairs(refused) do
  audit({'at', ARGV[8], 'request_id', imp['id'] .. '-' .. r[1], 'action', 'import_refused',
         'actor', ARGV[9], 'operation', imp['operation'], 'community_id', imp['community_id'],
         'email', r[4], 'credit', '', 'correlation_id', '',
         'detail', 'open elsewhere: ' .. r[2]}, 'refused', ARGV[7])
end
return {'ok', #accepted, cents, cjson.encode(refused)}
"""
)

# KEYS: import, rows, pending, active, work stream, closed. ARGV: [1] now, [2] approver,
# [3] approval audit entry, [4] expiry audit entry, [5] retention, [6] maxlen, [7] ISO time.
_APPROVE = (
    _COMMON
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status ~= 'pending' then return {'conflict', status} end
local id = redis.call('HGET', KEYS[1], 'id')
if tonumber(ARGV[1]) >= tonumber(redis.call('HGET', KEYS[1], 'expires_at')) then
  redis.call('HSET', KEYS[1], 'status', 'expired', 'decided_by', 'system', 'decided_at', ARGV[1])
  settle_unstarted(KEYS[1], KEYS[2], 'expired', 'expired', 'Not carried out: the import expired.',
                   'import_expired', 'system', ARGV[1], ARGV[7], ARGV[5], ARGV[6])
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZADD', KEYS[4], ARGV[1], id)
  closed(KEYS[6], KEYS[1], ARGV[1])
  changed(KEYS[1], ARGV[1])
  audit(cjson.decode(ARGV[4]), 'expired', ARGV[6])
  return {'expired'}
end
if redis.call('HGET', KEYS[1], 'requester_id') == ARGV[2] then return {'own'} end
local approvals = cjson.decode(redis.call('HGET', KEYS[1], 'approvals') or '[]')
for _, a in ipairs(approvals) do
  if a['user_id'] == ARGV[2] then return {'duplicate'} end
end
table.insert(approvals, {user_id = ARGV[2], at = tonumber(ARGV[1])})
redis.call('HSET', KEYS[1], 'approvals', cjson.encode(approvals))
changed(KEYS[1], ARGV[1])
if #approvals < tonumber(redis.call('HGET', KEYS[1], 'approvals_required')) then
  audit(cjson.decode(ARGV[3]), 'pending', ARGV[6])
  return {'partial'}
end
local names = {}
for _, a in ipairs(approvals) do table.insert(names, a['user_id']) end
redis.call('HSET', KEYS[1], 'status', 'approved', 'decided_by', table.concat(names, ','),
           'decided_at', ARGV[1])
redis.call('ZREM', KEYS[3], id)
redis.call('ZADD', KEYS[4], ARGV[1], id)
for _, n in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  redis.call('HSET', '"""
    + REQUEST_PREFIX
    + """' .. id .. '-' .. n, 'status', 'approved')
  redis.call('XADD', KEYS[5], '*', 'import_id', id, 'row', n)
end
audit(cjson.decode(ARGV[3]), 'approved', ARGV[6])
return {'approved'}
"""
)

# Reject or expire a pending import. KEYS: import, rows, pending, active, closed.
# ARGV: [1] now, [2] final status, [3] decided by, [4] reason, [5] audit entry,
# [6] retention, [7] maxlen, [8] ISO time, [9] '1': only when past its expiry.
_CLOSE = (
    _COMMON
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status ~= 'pending' then return {'conflict', status} end
if ARGV[9] == '1' and tonumber(ARGV[1]) < tonumber(redis.call('HGET', KEYS[1], 'expires_at')) then
  return {'conflict', status}
end
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'decided_by', ARGV[3], 'decided_at', ARGV[1],
           'decision_reason', ARGV[4])
local outcome = ({expired = 'Not carried out: the import expired.',
                  cancelled = 'Not carried out: the requester cancelled the import.'})[ARGV[2]]
                or 'Not carried out: the import was rejected.'
settle_unstarted(KEYS[1], KEYS[2], ARGV[2], ARGV[2], outcome, 'import_' .. ARGV[2], ARGV[3],
                 ARGV[1], ARGV[8], ARGV[6], ARGV[7])
redis.call('ZREM', KEYS[3], id)
redis.call('ZADD', KEYS[4], ARGV[1], id)
closed(KEYS[5], KEYS[1], ARGV[1])
changed(KEYS[1], ARGV[1])
audit(cjson.decode(ARGV[5]), ARGV[2], ARGV[7])
return {ARGV[2]}
"""
)

# KEYS: import, rows, active, closed. ARGV: [1] now, [2] who, [3] audit entry, [4] retention,
# [5] maxlen, [6] ISO time, [7] a not-started row's outcome, [8] an ambiguous waiting row's
# ('outcome unknown'), [9] a row waiting after a 429's.
_STOP = (
    _COMMON
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status ~= 'approved' and status ~= 'executing' then return {'conflict', status} end
redis.call('HSET', KEYS[1], 'status', 'stopped', 'stopped_by', ARGV[2], 'stopped_at', ARGV[1])
local count, unknowns = settle_unstarted(KEYS[1], KEYS[2], 'cancelled',
  'not carried out (stopped)', ARGV[7], 'import_stopped', ARGV[2], ARGV[1], ARGV[6], ARGV[4],
  ARGV[5], ARGV[8], ARGV[9])
redis.call('HINCRBY', KEYS[1], 'stopped_rows', count)
redis.call('HINCRBY', KEYS[1], 'unknown', unknowns)
finish_if_done(KEYS[1], ARGV[1], KEYS[4])
changed(KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[1], redis.call('HGET', KEYS[1], 'id'))
audit(cjson.decode(ARGV[3]), 'stopped', ARGV[5])
return {'stopped', count}
"""
)

# KEYS: row, row lease, import. ARGV: [1] consumer, [2] lease ms, [3] now.
_START_ROW = """
local row = redis.call('HGET', KEYS[1], 'status')
if not row then return {'gone'} end
if row ~= 'approved' and row ~= 'executing' then return {'skip', row} end
local import = redis.call('HGET', KEYS[3], 'status')
if row == 'approved' and import ~= 'approved' and import ~= 'executing' then
  return {'skip', import or 'missing'}
end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return {'busy'} end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local interrupted = row == 'executing'
redis.call('HSET', KEYS[1], 'status', 'executing', 'updated_at', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if interrupted then redis.call('HSET', KEYS[1], 'ambiguous', '1') end
if import == 'approved' then
  redis.call('HSET', KEYS[3], 'status', 'executing', 'started_at', ARGV[3])
  redis.call('HINCRBY', KEYS[3], 'version', 1)
end
return {'go', interrupted and '1' or '0', redis.call('HGETALL', KEYS[1])}
"""

# KEYS: row, row lease, import, work stream, inflight, slot-freed, active, pause, closed.
# ARGV: [1] consumer, [2] result, [3] counter ('' = deferred), [4] fields (JSON),
# [5] audit entry, [6] entry id, [7] slot ('' = kept for the next row), [8] now,
# [9] retention, [10] maxlen, [11] row id, then what a deferred row ends as when its import
# was stopped meanwhile: [12] result, [13] counter, [14] fields (JSON), [15] audit entry
# ('' when not deferred). Replies {state, ms of 429 pause left}.
_FINISH_ROW = (
    _COMMON
    + f"""
if ARGV[7] ~= '' then
  redis.call('ZREM', KEYS[5], ARGV[7])
  redis.call('LPUSH', KEYS[6], '1')
  redis.call('LTRIM', KEYS[6], 0, {SLOT_WAKEUPS_KEPT - 1})
end
local pause = math.max(0, redis.call('PTTL', KEYS[8]))
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {{'lost', pause}} end
redis.call('DEL', KEYS[2])
local fields = {{}}
for k, v in pairs(cjson.decode(ARGV[4])) do table.insert(fields, k); table.insert(fields, v) end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
local result, counter, entry = ARGV[2], ARGV[3], ARGV[5]
if counter == '' then
  if ARGV[12] == '' or redis.call('HGET', KEYS[3], 'status') ~= 'stopped' then
    redis.call('HSET', KEYS[1], 'status', 'approved', 'updated_at', ARGV[8])
    return {{'deferred', pause}}
  end
  -- Stopped while this row ran: no later attempt; it ends here, truthfully.
  result, counter, entry = ARGV[12], ARGV[13], ARGV[15]
  local more = {{}}
  for k, v in pairs(cjson.decode(ARGV[14])) do table.insert(more, k); table.insert(more, v) end
  if #more > 0 then redis.call('HSET', KEYS[1], unpack(more)) end
end
local status = 'done'
if counter == 'failed' or counter == 'unknown' then status = 'failed' end
if counter == 'stopped_rows' then status = 'cancelled' end
redis.call('HSET', KEYS[1], 'status', status, 'result', result, 'updated_at', ARGV[8])
release(KEYS[1], ARGV[11])
redis.call('EXPIRE', KEYS[1], ARGV[9])
redis.call('HINCRBY', KEYS[3], counter, 1)
changed(KEYS[3], ARGV[8])
audit(cjson.decode(entry), status, ARGV[10])
redis.call('XACK', KEYS[4], '{IMPORT_WORK_GROUP}', ARGV[6])
redis.call('XDEL', KEYS[4], ARGV[6])
if finish_if_done(KEYS[3], ARGV[8], KEYS[9]) then
  redis.call('ZADD', KEYS[7], ARGV[8], redis.call('HGET', KEYS[3], 'id'))
  return {{'finished', pause}}
end
return {{'ok', pause}}
"""
)

# Slots. KEYS: inflight, pause. ARGV: [1] limit, [2] lease ms, [3] consumer, [4] wanted,
# [5] first slot number. Returns {granted, members…}, or {-1, ms} while paused.
_ACQUIRE = """
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return {-1, pause} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
local granted = math.min(free, tonumber(ARGV[4]))
local out = {0}
for i = 1, granted do
  local member = ARGV[3] .. ':' .. (tonumber(ARGV[5]) + i)
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), member)
  table.insert(out, member)
end
out[1] = math.max(granted, 0)
return out
"""

# KEYS: pause. ARGV: [1] ms. The pause only ever grows.
_PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  return 1
end
return 0
"""

# Heartbeat. KEYS: work stream, inflight. ARGV: [1] consumer, [2] lease ms,
# [3] JSON entry ids we hold, [4] JSON slots we hold, [5] JSON row leases we hold.
# Returns the entry ids that are no longer ours.
_KEEP = f"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lost = {{}}
for _, id in ipairs(cjson.decode(ARGV[3])) do
  local mine = redis.call('XPENDING', KEYS[1], '{IMPORT_WORK_GROUP}', id, id, 1, ARGV[1])
  if #mine == 0 then
    table.insert(lost, id)
  else
    redis.call('XCLAIM', KEYS[1], '{IMPORT_WORK_GROUP}', ARGV[1], 0, id, 'JUSTID')
  end
end
for _, slot in ipairs(cjson.decode(ARGV[4])) do
  redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[2]), slot)
end
for _, lease in ipairs(cjson.decode(ARGV[5])) do
  if redis.call('GET', lease) == ARGV[1] then redis.call('PEXPIRE', lease, ARGV[2]) end
end
return lost
"""


# Each script's KEYS (bot.storage.scripts lists them for the slot check).
def file_keys(import_id: str) -> list[str]:
    return [
        keys.import_request(import_id),
        keys.import_rows(import_id),
        keys.import_people(import_id),
        keys.import_invalid(import_id),
        keys.import_refused(import_id),
        IMPORT_PENDING,
        IMPORT_ACTIVE,
        IMPORT_WORK_STREAM,
    ]


def approve_keys(import_id: str) -> list[str]:
    return [*close_keys(import_id)[:4], IMPORT_WORK_STREAM, IMPORT_CLOSED]


def close_keys(import_id: str) -> list[str]:
    return [
        keys.import_request(import_id),
        keys.import_rows(import_id),
        IMPORT_PENDING,
        IMPORT_ACTIVE,
        IMPORT_CLOSED,
    ]


def stop_keys(import_id: str) -> list[str]:
    return [
        keys.import_request(import_id),
        keys.import_rows(import_id),
        IMPORT_ACTIVE,
        IMPORT_CLOSED,
    ]


def start_row_keys(row_id: str, import_id: str) -> list[str]:
    return [keys.request(row_id), keys.import_lease(row_id), keys.import_request(import_id)]


def finish_row_keys(row_id: str, import_id: str) -> list[str]:
    return [
        *start_row_keys(row_id, import_id),
        IMPORT_WORK_STREAM,
        IMPORT_INFLIGHT,
        IMPORT_SLOT_FREED,
        IMPORT_ACTIVE,
        IMPORT_PAUSE,
        IMPORT_CLOSED,
    ]


ACQUIRE_KEYS = [IMPORT_INFLIGHT, IMPORT_PAUSE]
PAUSE_KEYS = [IMPORT_PAUSE]
KEEP_KEYS = [IMPORT_WORK_STREAM, IMPORT_INFLIGHT]


@dataclass(frozen=True)
class RowEntry:
    entry_id: str
    import_id: str
    row: int
    deliveries: int = 1

    @property
    def row_id(self) -> str:
        return row_id(self.import_id, self.row)


@dataclass(frozen=True)
class RowStart:
    """`state`: go (carry it out), skip (already settled: acknowledge), busy (another live
    runner has it), gone (no such row)."""

    state: str
    request: MemberRequest | None = None
    interrupted: bool = False


class RedisImportStore:
    """bot.domain.bulk.ImportStore on Redis, and what the runner needs besides."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        retention_seconds: float = 365 * 86400,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.redis = client
        self.retention_seconds = max(1, int(retention_seconds))
        self.now = now
        self._file = client.register_script(_FILE)
        self._approve = client.register_script(_APPROVE)
        self._close = client.register_script(_CLOSE)
        self._stop = client.register_script(_STOP)
        self._start_row = client.register_script(_START_ROW)
        self._finish_row = client.register_script(_FINISH_ROW)

    # The import --------------------------------------------------------------

    def file(
        self,
        request: ImportRequest,
        rows: Sequence[RowToFile],
        people: set[str],
        invalid: Sequence[InvalidRow],
        audit_entries: Sequence[list[str]],
        *,
        enqueue: bool,
    ) -> Filed:
        status = request.status.value
        items = [{"entry": self._stamped(entry), "status": status} for entry in audit_entries[:1]]
        items += [
            {"entry": self._stamped(entry), "status": "refused"} for entry in audit_entries[1:]
        ]
        payload = [
            {
                "n": row.number,
                "id": row.request.id,
                "open": keys.open_request(row.request.community_id, row.mailbox),
                "cents": row.credit_cents,
                "hash": {k: v for k, v in row.request.to_hash().items() if v != ""},
            }
            for row in rows
        ]
        imp = request.to_hash()
        imp["invalid_count"] = str(len(invalid))
        imp["invalid_preview"] = json.dumps([[r.number, r.reason] for r in invalid[:5]])
        reply = self._file(
            keys=file_keys(request.id),
            args=[
                json.dumps(imp),
                json.dumps(payload),
                json.dumps(sorted(people)),
                json.dumps([[r.number, r.email, r.reason] for r in invalid]),
                json.dumps(items),
                repr(self.now()),
                AUDIT_MAXLEN,
                _iso(self.now()),
                request.requester_id,
            ],
        )
        if reply[0] == "exists":
            raise ValueError(f"import {request.id} already exists")
        refused = {
            int(n): (str(holder), str(status))
            for n, holder, status, _email in json.loads(reply[-1])
        }
        if reply[0] == "empty":
            return Filed(0, 0, refused)
        if refused:  # the preview shows refusals of either kind, in row order
            preview = sorted(
                [(r.number, r.reason) for r in invalid]
                + [(n, open_elsewhere(*found)) for n, found in refused.items()]
            )[:5]
            self.redis.hset(keys.import_request(request.id), "invalid_preview", json.dumps(preview))
        return Filed(int(reply[1]), int(reply[2]), refused)

    def get(self, import_id: str) -> ImportRequest | None:
        data = self.redis.hgetall(keys.import_request(import_id))
        return ImportRequest.from_hash(data) if data else None

    def names_person(self, import_id: str, person: str) -> bool:
        return bool(self.redis.sismember(keys.import_people(import_id), person))

    def approve(
        self, import_id: str, approver_id: str, audit_entry: list[str], expiry_entry: list[str]
    ) -> str:
        now = self.now()
        reply = confirmed_or_logged(
            self.redis,
            self._approve,
            approve_keys(import_id),
            [
                repr(now),
                approver_id,
                json.dumps(self._stamped(audit_entry)),
                json.dumps(self._stamped(expiry_entry)),
                self.retention_seconds,
                AUDIT_MAXLEN,
                _iso(now),
            ],
        )
        return str(reply[0])

    def reject(self, import_id: str, user_id: str, reason: str, audit_entry: list[str]) -> str:
        return self._closed(import_id, "rejected", user_id, reason, audit_entry, due_only=False)

    def cancel(self, import_id: str, user_id: str, audit_entry: list[str]) -> str:
        return self._closed(import_id, "cancelled", user_id, "", audit_entry, due_only=False)

    def expire(self, import_id: str, audit_entry: list[str]) -> bool:
        return self._closed(import_id, "expired", "system", "", audit_entry, True) == "expired"

    def _closed(
        self,
        import_id: str,
        status: str,
        by: str,
        reason: str,
        audit_entry: list[str],
        due_only: bool,
    ) -> str:
        now = self.now()
        reply = self._close(
            keys=close_keys(import_id),
            args=[
                repr(now),
                status,
                by,
                reason,
                json.dumps(self._stamped(audit_entry)),
                self.retention_seconds,
                AUDIT_MAXLEN,
                _iso(now),
                "1" if due_only else "0",
            ],
        )
        return str(reply[0])

    def stop(self, import_id: str, user_id: str, audit_entry: list[str]) -> str:
        now = self.now()
        reply = self._stop(
            keys=stop_keys(import_id),
            args=[
                repr(now),
                user_id,
                json.dumps(self._stamped(audit_entry)),
                self.retention_seconds,
                AUDIT_MAXLEN,
                _iso(now),
                STOPPED_OUTCOME,
                UNKNOWN_OUTCOME,
                STOPPED_WAITING,
            ],
        )
        return str(reply[0])

    def pending_before(self, cutoff: float) -> list[str]:
        return list(self.redis.zrangebyscore(IMPORT_PENDING, "-inf", cutoff))

    def set_fields(self, import_id: str, **values: str) -> None:
        self.redis.hset(keys.import_request(import_id), mapping=values)

    # What people are shown ---------------------------------------------------

    def active_ids(self, limit: int = 100) -> list[str]:
        return list(self.redis.zrange(IMPORT_ACTIVE, 0, limit - 1))

    def forget_active(self, import_id: str) -> None:
        self.redis.zrem(IMPORT_ACTIVE, import_id)

    def take_update_turn(self, import_id: str, seconds: float) -> bool:
        """The approval message may be updated now (at most once per `seconds`, across
        every process: Slack rate-limits chat.update per channel)."""
        return bool(
            self.redis.set(keys.import_shown(import_id), "1", nx=True, px=int(seconds * 1000))
        )

    def take_result_turn(self, import_id: str, seconds: float = 120.0) -> bool:
        return bool(
            self.redis.set(keys.import_result_lock(import_id), "1", nx=True, px=int(seconds * 1000))
        )

    def invalid_rows(self, import_id: str) -> list[InvalidRow]:
        """Rows refused at filing: invalid in the file, or their address open elsewhere."""
        raw = self.redis.get(keys.import_invalid(import_id))
        rows = [InvalidRow(int(n), str(e), str(r)) for n, e, r in json.loads(raw or "[]")]
        for number, found in self.redis.hgetall(keys.import_refused(import_id)).items():
            holder, status, email = json.loads(found)
            rows.append(InvalidRow(int(number), str(email), open_elsewhere(holder, status)))
        return sorted(rows, key=lambda row: row.number)

    def row_records(self, import_id: str, page: int = 500) -> list[RowRecord]:
        """Every row carried (or to be carried) out, in file order, read a page at a time."""
        numbers = [int(n) for n in self.redis.lrange(keys.import_rows(import_id), 0, -1)]
        records: list[RowRecord] = []
        for start in range(0, len(numbers), page):
            chunk = numbers[start : start + page]
            pipe = self.redis.pipeline(transaction=False)
            for number in chunk:
                pipe.hmget(
                    keys.request(row_id(import_id, number)),
                    ["email", "result", "outcome", "result_credit", "correlation_id"],
                )
            for number, (email, result, outcome, credit, cid) in zip(
                chunk, pipe.execute(), strict=True
            ):
                records.append(
                    RowRecord(
                        number,
                        email or "",
                        result or "",
                        outcome or "",
                        Decimal(credit) if credit else None,
                        cid or "",
                    )
                )
        return records

    def row_people(self, import_id: str, page: int = 500) -> list[tuple[int, str, str, str, str]]:
        """Who each accepted row names, in file order: (number, first name, last name,
        address, credit), for the approver's file of the people in an import."""
        numbers = [int(n) for n in self.redis.lrange(keys.import_rows(import_id), 0, -1)]
        people: list[tuple[int, str, str, str, str]] = []
        for start in range(0, len(numbers), page):
            chunk = numbers[start : start + page]
            pipe = self.redis.pipeline(transaction=False)
            for number in chunk:
                pipe.hmget(
                    keys.request(row_id(import_id, number)),
                    ["first_name", "last_name", "email", "credit"],
                )
            for number, (first, last, email, credit) in zip(chunk, pipe.execute(), strict=True):
                people.append((number, first or "", last or "", email or "", credit or ""))
        return people

    def take_sweep_turn(self, owner: str, seconds: float) -> bool:
        return bool(self.redis.set(IMPORT_SWEEP_LOCK, owner, nx=True, px=int(seconds * 1000)))

    # Retention -----------------------------------------------------------------

    def forget_old(self, batch: int = 100) -> int:
        """Delete every key of the imports that ended more than the retention ago (on the
        bot's clock): the import, its rows (names, addresses), the mailboxes it names, its
        refused rows. The audit trail is trimmed with the single requests' (RequestService
        .sweep). Returns how many imports were forgotten."""
        self._index_closed_once()
        cutoff = self.now() - self.retention_seconds
        ids = self.redis.zrangebyscore(IMPORT_CLOSED, "-inf", f"({cutoff}", start=0, num=batch)
        for import_id in ids:
            numbers = self.redis.lrange(keys.import_rows(import_id), 0, -1)
            pipe = self.redis.pipeline(transaction=False)
            for number in numbers:
                pipe.delete(keys.request(row_id(import_id, int(number))))
            # One DEL per key: they live in two hash slots (the ledger's and loose ones),
            # and a cluster refuses a DEL that spans slots.
            for key in (
                keys.import_request(import_id),
                keys.import_rows(import_id),
                keys.import_people(import_id),
                keys.import_invalid(import_id),
                keys.import_refused(import_id),
                keys.import_shown(import_id),
                keys.import_result_lock(import_id),
            ):
                pipe.delete(key)
            pipe.zrem(IMPORT_ACTIVE, import_id)
            pipe.zrem(IMPORT_PENDING, import_id)
            pipe.zrem(IMPORT_CLOSED, import_id)
            pipe.execute()
        return len(ids)

    def _index_closed_once(self) -> None:
        """Imports that ended before the index of ended imports existed join it (once)."""
        if self.redis.exists(IMPORT_FORGET_SCANNED):
            return
        for key in self.redis.scan_iter(match=keys.import_request("I*"), count=500):
            if self.redis.type(key) != "hash":
                continue
            status, finished, decided, import_id = self.redis.hmget(
                key, ["status", "finished_at", "decided_at", "id"]
            )
            ended = float(finished or 0) or (
                float(decided or 0) if status in ("rejected", "expired") else 0.0
            )
            if ended and import_id:
                self.redis.zadd(IMPORT_CLOSED, {import_id: ended}, nx=True)
        self.redis.set(IMPORT_FORGET_SCANNED, "1")  # only once the scan went through

    # Rows, for the runner -----------------------------------------------------

    def start_row(self, entry: RowEntry, consumer: str, lease_ms: int) -> RowStart:
        # Records an attempt at Coolblue: a replica must hold it first (RedisRequestStore.
        # transition says why; NotReplicated leaves the entry to be retried).
        reply = confirmed(
            self.redis,
            self._start_row,
            start_row_keys(entry.row_id, entry.import_id),
            [consumer, lease_ms, repr(self.now())],
        )
        if reply[0] != "go":
            return RowStart(str(reply[0]))
        flat = reply[2]
        data = {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}
        return RowStart("go", MemberRequest.from_hash(data), reply[1] == "1")

    def finish_row(
        self,
        entry: RowEntry,
        consumer: str,
        outcome: RowOutcome,
        audit_entry: list[str],
        slot: str,
        if_stopped: tuple[RowOutcome, list[str]] | None = None,
    ) -> tuple[str, int]:
        """Record a row's outcome, release its claim (and `slot`, unless "": the caller
        keeps it for its next row), acknowledge its entry. Returns (state, pause): state
        ok | finished (the import's last row) | deferred | lost (the lease was taken
        over: nothing recorded); pause, the ms left of a 429 pause, so a runner that
        keeps its slot learns of a pause another process started. A deferred row whose
        import was stopped meanwhile is recorded as `if_stopped` says (outcome, audit
        entry) instead, in the same atomic step."""
        fields = _row_fields(outcome)
        deferred = outcome.result is RowResult.DEFERRED
        stopped = if_stopped if deferred else None
        reply = self._finish_row(
            keys=finish_row_keys(entry.row_id, entry.import_id),
            args=[
                consumer,
                outcome.result.value,
                "" if deferred else outcome.result.counter,
                json.dumps(fields),
                json.dumps(self._stamped(audit_entry)),
                entry.entry_id,
                slot,
                repr(self.now()),
                self.retention_seconds,
                AUDIT_MAXLEN,
                entry.row_id,
                stopped[0].result.value if stopped else "",
                stopped[0].result.counter if stopped else "",
                json.dumps(_row_fields(stopped[0]) if stopped else {}),
                json.dumps(self._stamped(stopped[1])) if stopped else "",
            ],
        )
        return str(reply[0]), int(reply[1])

    def _stamped(self, entry: list[str]) -> list[str]:
        """An audit entry with its time (bot.domain.audit leaves `at` to the store)."""
        return entry if "at" in entry[::2] else ["at", _iso(self.now()), *entry]


class ImportQueue:
    """The row work stream, the global slots and the 429 pause, as one runner sees them."""

    def __init__(self, client: redis.Redis, consumer: str) -> None:
        self.redis = client
        self.consumer = consumer
        self._acquire = client.register_script(_ACQUIRE)
        self._pause = client.register_script(_PAUSE)
        self._keep = client.register_script(_KEEP)
        self._slot_number = 0

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(IMPORT_WORK_STREAM, IMPORT_WORK_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_own_pending(self, count: int) -> list[RowEntry]:
        return self._read("0", count, None)

    def read_new(self, count: int, block_ms: int | None) -> list[RowEntry]:
        """New entries; waits up to `block_ms` for some (None: answers at once)."""
        return self._read(">", count, block_ms)

    def _read(self, start: str, count: int, block_ms: int | None) -> list[RowEntry]:
        replies = self.redis.xreadgroup(
            IMPORT_WORK_GROUP,
            self.consumer,
            {IMPORT_WORK_STREAM: start},
            count=count,
            block=block_ms,
        )
        entries = []
        for _stream, items in replies or []:
            for entry_id, fields in items:
                if fields:
                    entries.append(_entry(entry_id, fields))
                else:  # deleted from the stream meanwhile
                    self.redis.xack(IMPORT_WORK_STREAM, IMPORT_WORK_GROUP, entry_id)
        return entries

    def claim_abandoned(self, min_idle_ms: int, count: int) -> list[RowEntry]:
        idle = self.redis.xpending_range(
            IMPORT_WORK_STREAM, IMPORT_WORK_GROUP, "-", "+", count, idle=min_idle_ms
        )
        if not idle:
            return []
        deliveries = {item["message_id"]: int(item["times_delivered"]) + 1 for item in idle}
        claimed = self.redis.xclaim(
            IMPORT_WORK_STREAM, IMPORT_WORK_GROUP, self.consumer, min_idle_ms, list(deliveries)
        )
        entries = []
        for entry_id, fields in claimed:
            if fields:
                entries.append(_entry(entry_id, fields, deliveries[entry_id]))
            else:
                self.redis.xack(IMPORT_WORK_STREAM, IMPORT_WORK_GROUP, entry_id)
        return entries

    def acquire(self, limit: int, wanted: int, lease_ms: int) -> tuple[list[str], int]:
        """Up to `wanted` of the `limit` slots shared by every process: (slots, 0), or
        ([], ms) while a 429 pause lasts."""
        reply = self._acquire(
            keys=ACQUIRE_KEYS,
            args=[limit, lease_ms, self.consumer, wanted, self._slot_number],
        )
        if int(reply[0]) < 0:
            return [], int(reply[1])
        slots = [str(slot) for slot in reply[1:]]
        self._slot_number += len(slots)
        return slots, 0

    def wait_for_slot(self, seconds: float) -> None:
        """Block until a slot is freed somewhere (or `seconds` pass)."""
        self.redis.blpop([IMPORT_SLOT_FREED], timeout=seconds)

    def release(self, slots: Sequence[str]) -> None:
        if slots:
            pipe = self.redis.pipeline(transaction=False)
            pipe.zrem(IMPORT_INFLIGHT, *slots)
            for _ in slots:
                pipe.lpush(IMPORT_SLOT_FREED, "1")
            pipe.ltrim(IMPORT_SLOT_FREED, 0, SLOT_WAKEUPS_KEPT - 1)
            pipe.execute()

    def settle(self, entry: RowEntry, slot: str) -> None:
        """A row that needs nothing more (already settled): acknowledge it, and free the
        slot unless it is "" (kept for the next row)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.xack(IMPORT_WORK_STREAM, IMPORT_WORK_GROUP, entry.entry_id)
        pipe.xdel(IMPORT_WORK_STREAM, entry.entry_id)
        pipe.execute()
        if slot:
            self.release([slot])

    def pause(self, seconds: float) -> None:
        """Coolblue said 429: no import traffic from any process for `seconds`."""
        self._pause(keys=PAUSE_KEYS, args=[max(1, int(seconds * 1000))])

    def keep(
        self, entries: Sequence[RowEntry], slots: Sequence[str], rows: Sequence[str], lease_ms: int
    ) -> list[str]:
        """Heartbeat: our entries stay claimed, our slots and row leases alive. Returns
        the entry ids another runner took over."""
        lost = self._keep(
            keys=KEEP_KEYS,
            args=[
                self.consumer,
                lease_ms,
                json.dumps([entry.entry_id for entry in entries]),
                json.dumps(list(slots)),
                json.dumps([keys.import_lease(row) for row in rows]),
            ],
        )
        return [str(entry_id) for entry_id in lost or []]

    def beat(self, ttl_seconds: float) -> None:
        self.redis.set(keys.import_runner(self.consumer), "1", px=int(ttl_seconds * 1000))


def _entry(entry_id: str, fields: dict[str, Any], deliveries: int = 1) -> RowEntry:
    return RowEntry(
        entry_id, str(fields.get("import_id", "")), int(fields.get("row", 0)), deliveries
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def _row_fields(outcome: RowOutcome) -> dict[str, str]:
    fields = {
        "outcome": outcome.message,
        "correlation_id": outcome.correlation_id,
        "result_credit": str(outcome.credit) if outcome.credit is not None else "",
    }
    if outcome.ambiguous:
        fields["ambiguous"] = "1"
    return fields
