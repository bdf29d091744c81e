"""The old (pre-hash-tag) name of every ledger key in bot.storage.keys maps back to it, and
no loose key is taken for a ledger key: the upgrade's list comes from keys.py itself."""

from __future__ import annotations

import inspect

from bot.storage import keys


def every_key_name() -> list[str]:
    """Every name keys.py builds: its string constants and its functions' names for
    sample IDs (an ID with colons, as an address claim has)."""
    names = []
    for name, value in vars(keys).items():
        if name.startswith("_") or name in {"LEDGER", "LOOSE", "TOKEN_PREFIX"}:
            continue
        if isinstance(value, str) and value.startswith((keys.LEDGER, keys.LOOSE)):
            names.append(value)
        elif inspect.isfunction(value) and value.__module__ == keys.__name__:
            if value in (keys.untagged, keys.tagged):
                continue
            count = len(inspect.signature(value).parameters)
            names.append(value(*[f"i-20260101-ab:{n}" for n in range(count)]))
    return names


def test_every_ledger_key_is_found_under_its_old_name():
    ledger = [name for name in every_key_name() if name.startswith(keys.LEDGER)]
    assert len(ledger) >= 20
    for name in ledger:
        old = keys.untagged(name)
        assert old.startswith("cb:") and "{" not in old
        assert keys.tagged(old) == name, name


def test_no_loose_key_is_renamed():
    loose = [name for name in every_key_name() if name.startswith(keys.LOOSE)]
    assert keys.HASH_TAGS_MIGRATED in loose and keys.import_runner("i-20260101-ab:0") in loose
    for name in loose:
        assert keys.tagged(name) is None, name


def test_new_names_and_strangers_are_not_renamed():
    assert keys.tagged(keys.WORK_STREAM) is None  # already the new name
    assert keys.tagged("cb:something-else") is None
    assert keys.tagged("other:req:r-1") is None
    assert keys.tagged("cb:req:open:acme:jane@example.com") == (
        "{cb}:req:open:acme:jane@example.com"
    )
