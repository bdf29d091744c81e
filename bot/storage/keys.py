"""Every Redis key the bot uses, in one place.

cb:req:{id}                 hash    a request (MemberRequest.to_hash)
cb:req:pending              zset    open requests, scored by creation time
cb:req:recent               zset    requests by last change (App Home, /community pending)
cb:req:by-requester:{U}     zset    a requester's requests
cb:work                     stream  approved work; consumer group `workers`
cb:audit                    stream  the audit trail
cb:lease:{id}               string  the worker carrying out a request (per-request lease)
cb:sweep-lock               string  one worker at a time expires and reminds
cb:notify-lock:{id}         lock    notifications of one request, one at a time
cb:roles:group:{S}          string  a user group's members (JSON), for a few minutes
cb:user-email:{U}           string  a Slack user's e-mail address, for a few minutes
communities:token:{ns}      string  the shared OAuth token of one client (bot.communities)
"""

from __future__ import annotations

PREFIX = "cb:"

PENDING = f"{PREFIX}req:pending"
RECENT = f"{PREFIX}req:recent"
WORK_STREAM = f"{PREFIX}work"
WORK_GROUP = "workers"
AUDIT_STREAM = f"{PREFIX}audit"
SWEEP_LOCK = f"{PREFIX}sweep-lock"
TOKEN_PREFIX = "communities:token:"


def request(request_id: str) -> str:
    return f"{PREFIX}req:{request_id}"


def by_requester(user_id: str) -> str:
    return f"{PREFIX}req:by-requester:{user_id}"


def lease(request_id: str) -> str:
    return f"{PREFIX}lease:{request_id}"


def notify_lock(request_id: str) -> str:
    return f"{PREFIX}notify-lock:{request_id}"


def group_members(group_id: str) -> str:
    return f"{PREFIX}roles:group:{group_id}"


def user_email(user_id: str) -> str:
    return f"{PREFIX}user-email:{user_id}"
