"""Every Lua script keeps its keys in one hash slot (Redis Cluster refuses the others with
CROSSSLOT), and the ledger is the one slot the scripts share on purpose (bot.storage.keys).
No server needed: slots are computed with redis-py's own key_slot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from redis.crc import key_slot

from bot.storage import keys
from bot.storage.scripts import all_scripts

BOT = Path(__file__).parents[2] / "bot"


def slots(names: list[str]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for name in names:
        found.setdefault(key_slot(name.encode()), []).append(name)
    return found


@pytest.mark.parametrize("script", all_scripts(), ids=lambda s: s.name)
def test_a_script_touches_one_slot(script) -> None:
    touched = slots(script.declared + script.composed)
    assert len(touched) == 1, f"{script.name} spans slots {touched}"


def test_every_registered_script_is_listed() -> None:
    registered = sum(
        len(re.findall(r"\bregister_script\(", path.read_text())) for path in BOT.rglob("*.py")
    )
    assert registered == len(all_scripts())


def test_the_check_catches_two_slots() -> None:
    """The check itself: two untagged names land in two slots."""
    assert len(slots(["cb:req:a", "cb:req:pending"])) == 2
    assert len(slots([keys.request("a"), keys.PENDING])) == 1


def test_caches_and_heartbeats_spread_over_slots() -> None:
    """Keys no script shares are untagged: many workers' heartbeats, many users' cached
    e-mails do not pile onto the ledger's slot."""
    ledger = key_slot(keys.WORK_STREAM.encode())
    loose = [keys.worker(f"w{i}") for i in range(20)] + [
        keys.user_email(f"U{i}") for i in range(20)
    ]
    spread = slots(loose)
    assert len(spread) > 30
    assert ledger not in spread or len(spread[ledger]) == 1
