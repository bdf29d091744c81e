"""Every Redis key the bot uses, in one place, and the hash slot each lives in.

Slots (Redis Cluster, Valkey, ElastiCache Serverless; see docs/redis.md). Every key that a
Lua script or a transaction touches together with another carries the hash tag `{cb}`: the
ledger (requests, their indexes and open-address claims, both work streams, the audit
stream, leases, imports and their rows). It is one slot on purpose: the approval, its work
entry, its audit entry and the address claim are one atomic step, and that step is the
guarantee (at most one effect, nothing approved lost). The ledger's load is a few dozen
commands per request, far below what one shard serves. Everything else has no tag
(`cb:…`, `communities:…`): caches, heartbeats and throttles, each touched alone, hash by
their own names and spread over every shard. bot.storage.scripts lists every script's
keys; tests/unit/test_slots.py fails when one declares keys of two slots.

{cb}:req:{id}                 hash    a request (MemberRequest.to_hash)
{cb}:req:pending              zset    open requests, scored by creation time
{cb}:req:recent               zset    requests by last change (App Home, /community pending)
{cb}:req:scheduled            zset    approved dated requests, scored by when they are due
{cb}:req:by-requester:{U}     zset    a requester's requests
{cb}:req:open:{C}:{mailbox}   string  the open request for an address in a community
{cb}:work                     stream  approved work; consumer group `workers`
{cb}:audit                    stream  the audit trail
{cb}:lease:{id}               string  the worker carrying out a request (per-request lease)
cb:worker:{name}              string  a live worker's heartbeat (expires when it stops)
cb:sweep-lock                 string  one worker at a time expires and reminds
cb:notify-lock:{id}           lock    notifications of one request, one at a time
cb:roles:group:{S}            string  a user group's members (JSON), for a few minutes
cb:user-email:{U}             string  a Slack user's e-mail address, for a few minutes
cb:delegations                hash    absent approver's user ID -> their delegation (JSON); one
                                      key holds each delegation whole (bot.storage.delegations)
communities:token:{ns}        string  the shared OAuth token of one client (bot.communities)

Imports (bulk onboarding and offboarding; bot.storage.imports). Each valid row is a request
of its own, `{cb}:req:{import}-{row}`, holding the open-request claim of its address:
{cb}:import:{id}              hash    an import (ImportRequest.to_hash)
{cb}:import:{id}:rows         list    the row numbers it carries out, in file order
{cb}:import:{id}:people       set     the mailboxes the file names (none of them may decide)
{cb}:import:{id}:invalid      string  the rows refused at filing (JSON), for the files people get
{cb}:import:{id}:refused      hash    row number -> the open request that holds its address
cb:import:{id}:shown          string  the approval message was updated this recently (throttle)
cb:import:{id}:result-lock    string  one process posts the result file
{cb}:import:pending           zset    imports waiting for approval, scored by expiry time
{cb}:import:active            zset    imports whose rows run or whose message is still to update
{cb}:import:work              stream  a row to carry out per entry; group `import-workers`
{cb}:import:inflight          zset    rows being carried out anywhere (score: lease deadline ms)
{cb}:import:slot-freed        list    wakes a runner waiting for a free slot
{cb}:import:pause             string  Coolblue answered 429: no import traffic until it expires
{cb}:import:lease:{row}       string  the runner carrying out one row
cb:import:runner:{name}       string  a live import runner's heartbeat
cb:import:sweep-lock          string  one runner at a time expires imports
{cb}:import:closed            zset    imports that ended (done, stopped, rejected, expired), scored
                                      by when: each is deleted, rows included, RETENTION_DAYS later
cb:import:closed-indexed      string  imports that ended before that index existed were added to it

Workflow Builder steps (bot.storage.steps; each operation touches one key):
cb:step:{execution}           hash    a step execution: function, state, inputs until filed
cb:step:by-request:{id}       string  the step execution that filed a request
cb:step:claim:{execution}     string  the process filing or completing it (a short lease)
cb:step:unfinished            zset    executions not completed, scored by when the sweep looks next

Upgrading from before the hash tag (bot.storage.migrate, docs/redis.md):
cb:migrated:hash-tags         string  the ledger's old `cb:` names were renamed (when)
cb:migrate-lock:hash-tags     string  the process renaming them, for a minute at most
"""

from __future__ import annotations

from fnmatch import fnmatchcase

# The ledger's hash tag: every key a script or transaction touches together is in it.
LEDGER = "{cb}:"
# Caches, heartbeats and throttles that no script touches with the ledger: no tag, so
# they hash by their own names and spread over the shards.
LOOSE = "cb:"

PENDING = f"{LEDGER}req:pending"
RECENT = f"{LEDGER}req:recent"
SCHEDULED = f"{LEDGER}req:scheduled"
WORK_STREAM = f"{LEDGER}work"
WORK_GROUP = "workers"
AUDIT_STREAM = f"{LEDGER}audit"
SWEEP_LOCK = f"{LOOSE}sweep-lock"
TOKEN_PREFIX = "communities:token:"
DELEGATIONS = f"{LOOSE}delegations"


def request(request_id: str) -> str:
    return f"{LEDGER}req:{request_id}"


def by_requester(user_id: str) -> str:
    return f"{LEDGER}req:by-requester:{user_id}"


def open_request(community_id: str, mailbox: str) -> str:
    return f"{LEDGER}req:open:{community_id}:{mailbox}"


def lease(request_id: str) -> str:
    return f"{LEDGER}lease:{request_id}"


def worker(name: str) -> str:
    return f"{LOOSE}worker:{name}"


def notify_lock(request_id: str) -> str:
    return f"{LOOSE}notify-lock:{request_id}"


def group_members(group_id: str) -> str:
    return f"{LOOSE}roles:group:{group_id}"


def user_email(user_id: str) -> str:
    return f"{LOOSE}user-email:{user_id}"


def user_locale(user_id: str) -> str:
    """The user's Slack locale (`nl-NL`, `en-US`), cached like their e-mail address."""
    return f"{LOOSE}user-locale:{user_id}"


# Imports --------------------------------------------------------------------------------

IMPORT_PENDING = f"{LEDGER}import:pending"
IMPORT_ACTIVE = f"{LEDGER}import:active"
IMPORT_WORK_STREAM = f"{LEDGER}import:work"
IMPORT_WORK_GROUP = "import-workers"
IMPORT_INFLIGHT = f"{LEDGER}import:inflight"
IMPORT_SLOT_FREED = f"{LEDGER}import:slot-freed"
IMPORT_PAUSE = f"{LEDGER}import:pause"
IMPORT_SWEEP_LOCK = f"{LOOSE}import:sweep-lock"
IMPORT_CLOSED = f"{LEDGER}import:closed"  # written by the scripts that end an import
IMPORT_FORGET_SCANNED = f"{LOOSE}import:closed-indexed"


def import_request(import_id: str) -> str:
    return f"{LEDGER}import:{import_id}"


def import_rows(import_id: str) -> str:
    return f"{LEDGER}import:{import_id}:rows"


def import_people(import_id: str) -> str:
    return f"{LEDGER}import:{import_id}:people"


def import_invalid(import_id: str) -> str:
    return f"{LEDGER}import:{import_id}:invalid"


def import_refused(import_id: str) -> str:
    return f"{LEDGER}import:{import_id}:refused"


def import_shown(import_id: str) -> str:
    return f"{LOOSE}import:{import_id}:shown"


def import_result_lock(import_id: str) -> str:
    return f"{LOOSE}import:{import_id}:result-lock"


def import_lease(row_request_id: str) -> str:
    return f"{LEDGER}import:lease:{row_request_id}"


def import_runner(name: str) -> str:
    return f"{LOOSE}import:runner:{name}"


# Workflow Builder steps (bot.storage.steps) --------------------------------------------

STEPS_UNFINISHED = f"{LOOSE}step:unfinished"


def step(execution_id: str) -> str:
    """hash: one step execution (bot.domain.steps.StepExecution)"""
    return f"{LOOSE}step:{execution_id}"


def step_of_request(request_id: str) -> str:
    """string: the step execution that filed a request"""
    return f"{LOOSE}step:by-request:{request_id}"


def step_claim(execution_id: str) -> str:
    """string: the process filing or completing a step execution, for a short while"""
    return f"{LOOSE}step:claim:{execution_id}"


# Upgrading a database from before the hash tag (bot.storage.migrate) -------------------
# Until the ledger took the tag its keys were named LOOSE + the same rest (`cb:req:…`).
# At start-up every key under one of these families, in that old spelling, is renamed to
# its LEDGER name once; the loose keys that share a family's old prefix stay as they are.
LEDGER_FAMILIES = (request("*"), lease("*"), WORK_STREAM, AUDIT_STREAM, import_request("*"))
LOOSE_IN_LEDGER_FAMILIES = (
    import_shown("*"),
    import_result_lock("*"),
    import_runner("*"),
    IMPORT_SWEEP_LOCK,
    IMPORT_FORGET_SCANNED,
)
HASH_TAGS_MIGRATED = f"{LOOSE}migrated:hash-tags"  # string: when the renaming was done
HASH_TAGS_LOCK = f"{LOOSE}migrate-lock:hash-tags"  # string: the process renaming, for a while


def untagged(ledger_key: str) -> str:
    """The name a ledger key had before the hash tag (`{cb}:work` -> `cb:work`)."""
    return LOOSE + ledger_key.removeprefix(LEDGER)


def tagged(old_key: str) -> str | None:
    """The ledger name of a key named before the hash tag, or None when `old_key` is not
    the old name of a ledger key (a cache, a heartbeat, a lock, a ledger key already)."""
    if not old_key.startswith(LOOSE):
        return None
    if any(fnmatchcase(old_key, pattern) for pattern in LOOSE_IN_LEDGER_FAMILIES):
        return None
    if any(fnmatchcase(old_key, untagged(family)) for family in LEDGER_FAMILIES):
        return LEDGER + old_key.removeprefix(LOOSE)
    return None
