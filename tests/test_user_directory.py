"""bot.slack.users.UserDirectory: addresses remembered in the process for no longer than
their Redis copy lives, so the ack of a submission makes no round trip for the filer's.

Real Redis, and the Slack stand-in over HTTP for users.info."""

import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.slack.users import UNKNOWN, UserDirectory
from bot.slack_standin import SlackStandIn, StandInUser
from bot.storage import keys

TOKEN = "xoxb-directory"
ANN = "U0ANN"


@pytest.fixture
def slack() -> Iterator[WebClient]:
    ann = StandInUser(id=ANN, name="ann", real_name="Ann Hr", email="Ann@Acme.example")
    with SlackStandIn(users=[ann], bot_token=TOKEN) as standin:
        yield WebClient(token=TOKEN, base_url=standin.api_url)


def _gets(redis_client) -> int:
    stats = redis_client.info("commandstats")
    return int(stats.get("cmdstat_get", {}).get("calls", 0))


def test_an_address_learnt_from_slack_needs_no_redis_until_its_copy_expires(slack, redis_client):
    users = UserDirectory(slack, redis_client, ttl_seconds=2)
    assert users.email_of(ANN) == "ann@acme.example"  # users.info, then cached for 2 s
    redis_client.config_resetstat()
    assert users.cached_email_of(ANN) == "ann@acme.example"
    assert _gets(redis_client) == 0
    time.sleep(2.2)
    assert redis_client.get(keys.user_email(ANN)) is None
    assert users.cached_email_of(ANN) == UNKNOWN  # expired here as it expired there


def test_an_address_read_from_redis_is_kept_only_as_long_as_redis_keeps_it(slack, redis_client):
    users = UserDirectory(slack, redis_client)
    redis_client.set(keys.user_email(ANN), "ann@acme.example", px=1500)
    assert users.cached_email_of(ANN) == "ann@acme.example"
    redis_client.config_resetstat()
    assert users.cached_email_of(ANN) == "ann@acme.example"
    assert _gets(redis_client) == 0
    time.sleep(1.7)
    assert users.cached_email_of(ANN) == UNKNOWN


def test_a_copy_without_expiry_is_read_from_redis_every_time(slack, redis_client):
    users = UserDirectory(slack, redis_client)
    redis_client.set(keys.user_email(ANN), "ann@acme.example")
    assert users.cached_email_of(ANN) == "ann@acme.example"
    redis_client.set(keys.user_email(ANN), "ann@elsewhere.example")
    assert users.cached_email_of(ANN) == "ann@elsewhere.example"


def test_no_address_is_remembered_as_unknown(slack, redis_client):
    users = UserDirectory(slack, redis_client)
    assert users.cached_email_of(ANN) == UNKNOWN
    redis_client.set(keys.user_email(ANN), "ann@acme.example", ex=60)
    assert users.cached_email_of(ANN) == "ann@acme.example"
