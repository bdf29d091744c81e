"""The console sets a Slack language per person (`as alice --locale nl`): the bot writes to
that person in it from their next line on, and the console shows their dates in it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import i18n
from bot.console import console_stack, run_script
from bot.console.form import ConsoleError
from bot.console.mask import Masker
from bot.console.render import Names, mrkdwn
from bot.console.session import _who_and_locale
from bot.runtime.settings import Settings
from bot.storage import keys

FLOW = """\
as alice
/community add jane@example.com
  first name: Jane
  last name: Doe
  credit: 1234.56
as bob
click Approve
"""


@pytest.fixture
def console(redis_url: str, tmp_path: Path):
    stack = console_stack(
        Settings(
            _env_file=None,
            redis_url=redis_url,  # type: ignore[call-arg]
            data_dir=str(tmp_path / "data"),
        )
    )
    yield stack
    stack.stop()


def _run(stack, script: str) -> tuple[int, str]:
    lines: list[str] = []
    code = run_script(stack, script.splitlines(), lines.append)
    return code, "\n".join(lines)


def _credit_reply(out: str) -> str:
    """What the last `/community credit` showed."""
    return out.rsplit("/community credit", 1)[1]


def test_a_locale_set_in_the_console_is_what_the_bot_writes_in_at_once(console) -> None:
    code, out = _run(console, FLOW + "as carol\n/community credit jane@example.com\n")
    assert code == 0, out
    assert "€1,234.56" in _credit_reply(out)
    cache = console.services.users.cache
    assert cache.get(keys.user_locale("U0CAROL")) is not None  # the bot cached en-US

    code, out = _run(console, "as carol --locale nl\n/community credit jane@example.com\n")
    assert code == 0, out
    assert "You are now @carol (support); Slack language nl-NL." in out
    assert console.standin.directory.user("U0CAROL").locale == "nl-NL"
    assert "€\u00a01.234,56" in _credit_reply(out)  # not the en-US cached a moment ago

    code, out = _run(console, "as carol --locale en\n/community credit jane@example.com\n")
    assert code == 0, out
    assert console.standin.directory.user("U0CAROL").locale == "en-US"
    assert "€1,234.56" in _credit_reply(out)
    # Others keep theirs; `as` without --locale changes nobody's.
    code, out = _run(console, "as alice\n")
    assert out.endswith("You are now @alice (hr).")
    assert console.standin.directory.user("U0ALICE").locale == "en-US"


def test_a_bad_locale_is_refused_and_changes_nothing(console) -> None:
    code, out = _run(console, "as alice --locale dutch\n")
    assert code == 1
    assert "'dutch' is no locale; e.g. as alice --locale nl (or en, nl-BE, en-GB)" in out
    assert console.standin.directory.user("U0ALICE").locale == "en-US"


@pytest.mark.parametrize(
    ("words", "wanted"),
    [
        ("alice", ("alice", "")),
        ("alice --locale nl", ("alice", "nl-NL")),
        ("@bob --locale EN", ("@bob", "en-US")),
        ("carol --locale nl-BE", ("carol", "nl-BE")),
    ],
)
def test_as_reads_who_and_the_locale(words: str, wanted: tuple[str, str]) -> None:
    assert _who_and_locale(words) == wanted


@pytest.mark.parametrize("words", ["alice --locale", "--locale nl", "alice --locale nl_NL"])
def test_as_refuses_a_locale_it_cannot_read(words: str) -> None:
    with pytest.raises(ConsoleError):
        _who_and_locale(words)


def test_date_tokens_are_written_in_the_readers_language() -> None:
    epoch = int(datetime(2026, 12, 31, 23, 0, tzinfo=UTC).timestamp())
    token = f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|2026-12-31 23:00 UTC>"
    amsterdam = Names({}, {}, ZoneInfo("Europe/Amsterdam"))
    with i18n.use("nl-NL"):
        shown = mrkdwn(f"om {token}", amsterdam)
    assert shown == "om 1 januari 2027 00:00 CET"
    with i18n.use("en-US"):
        assert mrkdwn(f"at {token}", amsterdam) == "at 2027-01-01 00:00 CET"
    # A transcript masks it as it masks the English form.
    assert Masker(enabled=True)(shown + ".") == "om <time>."
