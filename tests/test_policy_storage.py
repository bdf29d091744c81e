"""Delegations and the escalation marker in a real Redis, and an actor's roles per community
(ROLES_*, the file's grants, user groups through the Redis group cache, delegation,
escalation)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import redis

from bot.domain.community_policy import PolicyBase, environment_book
from bot.domain.community_roles import CommunityRoles
from bot.domain.delegation import Delegation
from bot.domain.policy_file import parse_policy
from bot.domain.requests import MemberRequest, Operation, Status
from bot.domain.roles import Role, RoleDirectory
from bot.storage import keys
from bot.storage.delegations import RedisDelegationStore
from bot.storage.escalations import RedisEscalations
from bot.storage.group_cache import RedisGroupCache

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
HR, MANAGER, SUPPORT, ADMIN = Role.HR, Role.MANAGER, Role.SUPPORT, Role.ADMIN

POLICY = """
[defaults]
support = ["U0CAROL"]

[communities.cc-acme-nl]
channel = "C0APPROVNL"
requesters = ["U0ALICE"]
approvers = ["U0BOB"]
escalate_after_hours = 8
escalate_to = ["S0DIRECTORS"]

[communities.cc-acme-be]
channel = "C0APPROVBE"
requesters = ["U0GRACE"]
approvers = ["S0MANAGERSBE"]
"""
GROUPS = {"S0MANAGERSBE": ["U0ERIN"], "S0DIRECTORS": ["U0DIRECTOR"], "S0GLOBAL": ["U0HANK"]}
ENV_ROLES = {MANAGER: ("S0GLOBAL",), ADMIN: ("U0DAVE",), HR: ("U0IVY",)}


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


def directory(client: redis.Redis) -> RoleDirectory:
    return RoleDirectory(ENV_ROLES, RedisGroupCache(client), lambda group: GROUPS[group], 300)


def roles(client: redis.Redis, clock: Clock | None = None) -> CommunityRoles:
    book = parse_policy(POLICY, PolicyBase(roles=ENV_ROLES), require_channel=True)
    return CommunityRoles(
        book,
        directory(client),
        delegations=RedisDelegationStore(client),
        timezone=AMSTERDAM,
        now=(clock or Clock(at(2027, 1, 5, 12))).now,
    )


# Delegations in Redis -------------------------------------------------------------------


def test_a_delegation_is_one_field_of_one_key(redis_client: redis.Redis) -> None:
    store = RedisDelegationStore(redis_client)
    away = Delegation("U0BOB", "U0ERIN", until=date(2027, 1, 10), set_at=1.0)
    store.set(away)
    assert store.get("U0BOB") == away
    assert redis_client.hlen(keys.DELEGATIONS) == 1
    assert [k for k in redis_client.scan_iter("cb:*")] == [keys.DELEGATIONS]
    # a new one replaces the old
    later = Delegation("U0BOB", "U0GRACE", until=date(2027, 1, 12), set_at=2.0)
    store.set(later)
    assert store.all() == [later]
    assert store.end("U0BOB") == later
    assert store.get("U0BOB") is None and store.end("U0BOB") is None
    assert store.all() == []


def test_ended_delegations_are_pruned_and_current_ones_kept(redis_client: redis.Redis) -> None:
    store = RedisDelegationStore(redis_client)
    ended = Delegation("U0DAVE", "U0ERIN", until=date(2027, 1, 4), set_at=0.0)
    last_day = Delegation("U0GRACE", "U0FRANK", until=date(2027, 1, 5), set_at=0.0)
    store.set(ended)
    store.set(last_day)
    assert store.prune(date(2027, 1, 5)) == 1
    assert store.all() == [last_day]
    # setting one prunes too
    store.set(
        Delegation("U0BOB", "U0ERIN", until=date(2027, 2, 1), set_at=0.0), today=date(2027, 1, 6)
    )
    assert [item.absent_id for item in store.all()] == ["U0BOB"]


def test_pruning_keeps_a_delegation_replaced_meanwhile(redis_client: redis.Redis) -> None:
    store = RedisDelegationStore(redis_client)
    ended = Delegation("U0BOB", "U0ERIN", until=date(2027, 1, 4), set_at=0.0)
    store.set(ended)
    # Another process sets a new one between this process's read and its delete:
    renewed = Delegation("U0BOB", "U0ERIN", until=date(2027, 3, 1), set_at=5.0)
    deleted = store._delete_if_same(keys=[keys.DELEGATIONS], args=["U0BOB", renewed.to_json()])
    assert deleted == 0 and store.get("U0BOB") == ended
    store.set(renewed)
    assert store._delete_if_same(keys=[keys.DELEGATIONS], args=["U0BOB", ended.to_json()]) == 0
    assert store.get("U0BOB") == renewed


# The escalation marker ---------------------------------------------------------------------


def pending_request(client: redis.Redis, request_id: str = "r1") -> MemberRequest:
    request = MemberRequest(
        id=request_id,
        operation=Operation.ADD,
        community_id="cc-acme-nl",
        community_name="Acme NL",
        email="jane@example.com",
        requester_id="U0ALICE",
        created_at=1.0,
        expires_at=1.0 + 72 * 3600,
        approvals_required=1,
        environment="SANDBOX",
        credit=Decimal("300.00"),
    )
    client.hset(keys.request(request_id), mapping=request.to_hash())
    return request


def test_exactly_one_of_many_sweepers_escalates(redis_client: redis.Redis) -> None:
    pending_request(redis_client)
    escalations = RedisEscalations(redis_client)
    wins: list[bool] = []
    start = threading.Barrier(8)

    def sweep(n: int) -> None:
        start.wait()
        wins.append(escalations.claim("r1", 1000.0 + n))

    threads = [threading.Thread(target=sweep, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(wins) == [False] * 7 + [True]
    stored = MemberRequest.from_hash(redis_client.hgetall(keys.request("r1")))
    assert stored.escalated_at >= 1000.0
    assert not escalations.claim("r1", 2000.0)  # and never again


def test_only_a_pending_request_is_escalated(redis_client: redis.Redis) -> None:
    pending_request(redis_client)
    redis_client.hset(keys.request("r1"), "status", Status.APPROVED.value)
    assert not RedisEscalations(redis_client).claim("r1", 1000.0)
    assert not RedisEscalations(redis_client).claim("missing", 1000.0)
    assert redis_client.hget(keys.request("r1"), "escalated_at") == "0.0"


# Roles per community -----------------------------------------------------------------------


def test_the_file_grants_roles_in_its_own_community_only(redis_client: redis.Redis) -> None:
    who = roles(redis_client)
    assert who.roles_for("U0ALICE", "cc-acme-nl") == {HR}
    assert who.roles_for("U0ALICE", "cc-acme-be") == set()
    assert who.roles_for("U0BOB", "cc-acme-nl") == {MANAGER}
    assert who.roles_for("U0BOB", "cc-acme-be") == set()
    assert who.roles_for("U0ERIN", "cc-acme-be") == {MANAGER}  # through S0MANAGERSBE
    assert who.roles_for("U0ERIN", "cc-acme-nl") == set()
    assert who.roles_for("U0CAROL", "cc-acme-be") == {SUPPORT}  # from [defaults]
    assert who.communities_of("U0BOB", ["cc-acme-nl", "cc-acme-be"], MANAGER) == ["cc-acme-nl"]
    assert who.communities_of("U0CAROL", ["cc-acme-nl", "cc-acme-be"]) == [
        "cc-acme-nl",
        "cc-acme-be",
    ]
    assert who.users_with(MANAGER, "cc-acme-be") == {"U0ERIN", "U0HANK", "U0DAVE"}


def test_roles_star_grant_their_role_in_every_managed_community(redis_client: redis.Redis) -> None:
    who = roles(redis_client)
    for community in ("cc-acme-nl", "cc-acme-be"):
        assert who.roles_for("U0HANK", community) == {MANAGER}  # ROLES_MANAGER=S0GLOBAL
        assert who.roles_for("U0IVY", community) == {HR}
        assert who.roles_for("U0DAVE", community) == set(Role)  # admin
    # a community the file does not name is not managed: nobody acts there
    assert who.roles_for("U0DAVE", "acme-employees") == set()


def test_without_a_file_roles_are_todays(redis_client: redis.Redis) -> None:
    who = CommunityRoles(environment_book(PolicyBase(roles=ENV_ROLES)), directory(redis_client))
    assert who.roles_for("U0HANK", "any-community") == {MANAGER}
    assert who.roles_for("U0BOB", "any-community") == set()
    assert who.standing_in_for("U0ERIN", "any-community") == []


def test_a_delegate_approves_where_the_absent_approver_does(redis_client: redis.Redis) -> None:
    clock = Clock(at(2027, 1, 5, 12))
    who = roles(redis_client, clock)
    store = RedisDelegationStore(redis_client)
    store.set(Delegation("U0BOB", "U0FRANK", until=date(2027, 1, 10), set_at=clock.value))
    assert who.roles_for("U0FRANK", "cc-acme-nl") == {MANAGER}
    assert who.standing_in_for("U0FRANK", "cc-acme-nl") == ["U0BOB"]
    assert who.roles_for("U0FRANK", "cc-acme-be") == set()  # Bob approves only in NL
    # Erin is a manager in BE herself: there she decides as herself, not for Bob
    store.set(Delegation("U0BOB", "U0ERIN", until=date(2027, 1, 10), set_at=clock.value))
    assert who.standing_in_for("U0ERIN", "cc-acme-be") == []
    assert who.standing_in_for("U0ERIN", "cc-acme-nl") == ["U0BOB"]
    # the last day counts in Amsterdam: 10 January 23:30 there, still on; 00:30, over
    clock.value = at(2027, 1, 10, 22, 30)
    assert who.roles_for("U0ERIN", "cc-acme-nl") == {MANAGER}
    clock.value = at(2027, 1, 10, 23, 30)
    assert who.roles_for("U0ERIN", "cc-acme-nl") == set()
    # delegations do not chain: Erin's own stand-in gets only what Erin holds herself
    clock.value = at(2027, 1, 6, 12)
    store.set(Delegation("U0ERIN", "U0GRACE", until=date(2027, 1, 10), set_at=clock.value))
    assert who.roles_for("U0GRACE", "cc-acme-nl") == set()
    assert who.roles_for("U0GRACE", "cc-acme-be") == {HR, MANAGER}


def test_escalation_approvers_decide_once_the_request_is_escalated(
    redis_client: redis.Redis,
) -> None:
    who = roles(redis_client)
    request = pending_request(redis_client)
    assert who.escalation_approvers("cc-acme-nl") == {"U0DIRECTOR"}
    assert who.roles_on("U0DIRECTOR", request) == set()
    request.escalated_at = 2.0
    assert who.roles_on("U0DIRECTOR", request) == {MANAGER}
    assert who.roles_on("U0ALICE", request) == {HR}
